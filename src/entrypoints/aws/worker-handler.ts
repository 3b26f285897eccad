/**
 * The worker Lambda: consumes the SQS FIFO job queue and runs each message
 * through the same ConversationWorker as the local server, with AWS adapters
 * around it (DynamoDB/S3 session store, conversation index, reply outbox,
 * turn control and lease; Telegram through grammY). Composition only:
 *
 * - once per container (worker-container.ts): settings, clients, adapters,
 *   the Telegram API and the agent runtime;
 * - per invocation (here): the deadline, the turn control and the
 *   ConversationWorker that honour it, and an SqsRecordProcessor
 *   (src/adapters/aws/sqs-record-processor.ts) that holds the queue
 *   semantics: answered, retried after a backoff, given up and
 *   dead-lettered, conversation busy, control lane beside the turn lane, not
 *   a job; the records go through Powertools' SqsFifoPartialProcessorAsync
 *   there.
 *
 * Deadline: a turn is stopped at a clean point before `deadlineMarginMs`
 * before the Lambda would be killed, at the latest then; its session is
 * kept, and it goes on in a continuation queued on its lane (up to
 * MAX_CONTINUATIONS times, the person told once that it is still working),
 * or the person is told it stopped (DeadlineTurnRunner).
 *
 * Batches: a conversation's messages that waited while its last turn ran
 * arrive together, and one turn answers them (sqs-record-units.ts). Other
 * conversations in the same batch are handed back to start beside it in
 * invocations of their own (a container serves one conversation at a time).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoTurnControl } from '../../adapters/aws/dynamo-turn-control.js';
import { SqsJobSink } from '../../adapters/aws/sqs-job-sink.js';
import { queueUrlFromArn } from '../../adapters/aws/sqs-message-visibility.js';
import { SqsRecordProcessor } from '../../adapters/aws/sqs-record-processor.js';
import {
  ConversationWorker,
  type ConversationWorkerOptions,
  type WorkerTexts,
} from '../../core/pipeline/conversation-worker.js';
import { DeadlineTurnRunner } from '../../core/pipeline/deadline-turn-runner.js';
import { StaleContinuations } from '../../core/pipeline/stale-continuations.js';
import { errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.js';
import { type LambdaLogger, lambdaLogger } from './lambda-logger.js';
import {
  composeWorkerContainer,
  type WorkerContainer,
  type WorkerContainerOptions,
} from './worker-container.js';

export {
  defaultRetryDelaySeconds,
  RecordFailedError,
} from '../../adapters/aws/sqs-record-processor.js';

export interface WorkerOptions extends WorkerContainerOptions {
  /** Default: Powertools Logger (JSON lines, Lambda context attached). */
  logger?: Logger;
  /** Time kept back before the Lambda's own deadline to wind a turn down and answer (default 30 s). */
  deadlineMarginMs?: number;
  /** A turn is not started with less time than this left; the message is retried (default 30 s). */
  minTurnMs?: number;
  /** Backoff before a failed message is received again, by the attempt that failed (1-based). */
  retryDelaySeconds?: (attempt: number) => number;
  /**
   * Other conversations in a batch are handed back to run in invocations of
   * their own while their receive count is at most this (default 3; see
   * SqsRecordProcessorOptions.handBackReceives).
   */
  handBackReceives?: number;
  /** From this long before the deadline, a turn stops at its next clean point (default 60 s). */
  cleanPointMs?: number;
  /** How often a running turn looks for a `/stop` (default 1 s). */
  stopPollIntervalMs?: number;
  texts?: Partial<WorkerTexts>;
  /** The status message of long turns (delays, or `false` for none); defaults otherwise. */
  progress?: ConversationWorkerOptions['progress'];
}

export interface LambdaWorker {
  handle(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
  /** Stops the runtime (model gateway) and the clients this worker made. */
  close(): Promise<void>;
}

const DEFAULT_MARGIN_MS = 30_000;
/** Well inside the receives the queue allows beyond the attempts (maxAttempts + 10 by default). */
const DEFAULT_HAND_BACK_RECEIVES = 3;

export function createWorker(options: WorkerOptions = {}): LambdaWorker {
  const powertools = options.logger ? undefined : lambdaLogger('agent-worker');
  const logger: Logger = options.logger ?? (powertools as LambdaLogger);
  const margin = options.deadlineMarginMs ?? DEFAULT_MARGIN_MS;
  let container: Promise<WorkerContainer> | undefined;

  const wire = (): Promise<WorkerContainer> => {
    container ??= composeWorkerContainer(options, logger);
    // A failed start is not kept: the next invocation tries again.
    container.catch(() => {
      container = undefined;
    });
    return container;
  };

  const handle = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    powertools?.addContext(context);
    let c: WorkerContainer;
    try {
      c = await wire();
    } catch (error) {
      // The whole batch comes back after the visibility timeout.
      logger.error('the worker could not start', { error: errorMessage(error) });
      throw error;
    }
    const endsAt = Date.now() + context.getRemainingTimeInMillis();
    const deadlineAt = endsAt - margin;
    const turns = new DynamoTurnControl({
      client: c.dynamo,
      tableName: c.settings.tableName,
      pollIntervalMs: options.stopPollIntervalMs,
      runningUntil: () => endsAt,
      logger,
    });
    const worker = new ConversationWorker({
      runner: new DeadlineTurnRunner(c.runner, deadlineAt, {
        continuations: continuationSink(c, event),
        maxContinuations: c.settings.maxContinuations,
        cleanPointMs: options.cleanPointMs,
        logger,
      }),
      channel: c.channel,
      outbox: c.outbox,
      conversations: c.conversations,
      turns,
      maxAttempts: c.settings.maxAttempts,
      texts: options.texts,
      progress: options.progress,
      media: c.media,
      questions: c.questions,
      logger,
    });
    const processor = new SqsRecordProcessor({
      // A continuation overtaken by a /new (or expiry) ends quietly, unrun.
      worker: new StaleContinuations(worker, { conversations: c.conversations, logger }),
      lease: c.lease,
      attempts: c.attempts,
      outbox: c.outbox,
      visibility: c.visibility,
      owner: context.awsRequestId,
      deadlineAt,
      endsAt,
      minTurnMs: options.minTurnMs,
      retryDelaySeconds: options.retryDelaySeconds,
      handBackReceives: options.handBackReceives ?? DEFAULT_HAND_BACK_RECEIVES,
      logger,
    });
    try {
      return await processor.process(event.Records, context);
    } finally {
      // Running-turn items must be cleared before the Lambda freezes.
      await turns.idle();
    }
  };

  return {
    handle,
    async close() {
      const current = container;
      container = undefined;
      if (current) await (await current.catch(() => undefined))?.close();
    },
  };
}

/** Continuations go to the queue the records came from (JOB_QUEUE_URL, or their source ARN). */
function continuationSink(c: WorkerContainer, event: SQSEvent): SqsJobSink | undefined {
  const arn = event.Records[0]?.eventSourceARN;
  const queueUrl = c.settings.queueUrl ?? (arn ? queueUrlFromArn(arn) : undefined);
  return queueUrl ? new SqsJobSink({ client: c.sqs, queueUrl }) : undefined;
}

const lambdaWorker = createWorker();

/** The Lambda entry point (`worker-handler.handler` in the image). */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  lambdaWorker.handle(event, context);
