/**
 * The dead-letter consumer's queue semantics: what each record of the
 * dead-letter queue becomes. The entry point
 * (src/entrypoints/aws/dead-letter-handler.ts) only wires this up.
 *
 * A job reaches the dead-letter queue when SQS ran out of receives for it:
 * usually after the worker gave up and told the person, but also when the
 * worker was killed (out of memory, hard timeout) on its last receives, so
 * nobody told them. Per record:
 *
 * 1. the job is marked dead-lettered (DynamoJobAttempts), so that if an
 *    operator redrives it, the worker knows to run it afresh;
 * 2. the person hears about it once: the notifier (the core's
 *    ConversationWorker, called as on an attempt past the last) finds the
 *    answer or failure notice saved in the reply outbox and at most finishes
 *    its delivery, or, with none saved, saves and sends the one failure
 *    message;
 * 3. the message is parked: copied to the parked queue, where it stays for
 *    inspection and redrive (infra/README.md, Operations), and only then
 *    removed from here. If any step fails the record is retried; after the
 *    dead-letter queue's own receives SQS parks it anyway.
 *
 * A body that is not a job is parked as it is.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { JobAttempts } from './dynamo-job-attempts.js';
import { processFifoBatch } from './fifo-batch.js';
import { type JobPayload, parseJobPayload } from './sqs-job-sink.js';
import type { JobHandler } from './sqs-record-processor.js';

/** Where a dead letter rests until an operator redrives or purges it. */
export interface DeadLetterPark {
  park(record: SQSRecord): Promise<void>;
}

/**
 * Parks a dead letter in another FIFO queue: the same body, group and
 * deduplication id, so a retried copy within SQS's five minutes is dropped.
 */
export class SqsDeadLetterPark implements DeadLetterPark {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(options: { client: SQSClient; queueUrl: string }) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
  }

  async park(record: SQSRecord): Promise<void> {
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: record.body,
        MessageGroupId: record.attributes.MessageGroupId ?? record.messageId,
        MessageDeduplicationId: record.attributes.MessageDeduplicationId ?? record.messageId,
      }),
    );
  }
}

export interface SqsDeadLetterProcessorOptions {
  /**
   * Tells the person, once: a ConversationWorker whose `maxAttempts` is below
   * `givenUpAttempt`, so it never runs a turn, only gives up or finishes a
   * saved delivery.
   */
  notifier: JobHandler;
  /** The attempt number the notifier is called with (default 2: past a notifier with maxAttempts 1). */
  givenUpAttempt?: number | undefined;
  attempts: Pick<JobAttempts, 'markDeadLettered'>;
  park: DeadLetterPark;
  logger?: Logger | undefined;
}

export class SqsDeadLetterProcessor {
  readonly #options: SqsDeadLetterProcessorOptions;
  readonly #logger: Logger;

  constructor(options: SqsDeadLetterProcessorOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** A batch from the dead-letter queue; the failures are the Lambda's partial batch response. */
  async process(records: SQSRecord[], context?: Context): Promise<SQSBatchResponse> {
    return processFifoBatch(records, (record) => this.processRecord(record), context);
  }

  /** One record; resolves once the person was told (or needed not be) and the message is parked. */
  async processRecord(record: SQSRecord): Promise<void> {
    const { attempts, notifier, park } = this.#options;
    let payload: JobPayload;
    try {
      payload = parseJobPayload(record.body);
    } catch (error) {
      this.#logger.error('dead letter is not a job; parked as it is', {
        messageId: record.messageId,
        error: errorMessage(error),
      });
      await park.park(record);
      return;
    }
    const { kind, message } = payload;
    const log = {
      messageId: record.messageId,
      jobId: message.id,
      conversationId: conversationId(message.conversation),
      kind,
    };
    await attempts.markDeadLettered(message.id);
    const result = await notifier.handle({
      kind,
      messages: [message],
      attempt: this.#options.givenUpAttempt ?? 2,
    });
    if (result.type !== 'settled') {
      // Not expected of an attempt past the last; try the record again.
      throw new Error(`dead letter ${message.id} not settled: ${result.type}`);
    }
    this.#logger.error('message dead-lettered; parked for inspection or redrive', {
      ...log,
      answered: result.completed.length > 0,
      error: result.error,
    });
    await park.park(record);
  }
}
