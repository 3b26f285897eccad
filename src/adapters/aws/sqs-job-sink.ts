/**
 * The ingress end of the AWS job queue: SQS FIFO, one message group per
 * conversation lane. The worker Lambda is the other end (fed by the event
 * source mapping), so all that lives here is the send and the payload's shape.
 *
 * - `MessageGroupId`: the conversation id for its `turn` lane, the same with
 *   `CONTROL_GROUP_SUFFIX` for its `control` lane. The two lanes of the local
 *   queue become two groups, so `/status`, help and refusals never wait behind
 *   a running turn, while each lane keeps its order.
 * - `MessageDeduplicationId`: the message's id (derived from the Telegram
 *   `update_id`), stable across Telegram's redeliveries. SQS drops repeats
 *   only within five minutes; `DynamoUpdateDedupe` covers the rest.
 * - Body: `{ v: 1, kind, message }`, validated with `jobPayloadSchema` when
 *   the worker reads it back.
 */
import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { conversationId } from '../../domain/conversation.js';
import {
  type InboundMessage,
  inboundMessageSchema,
  type LaneKind,
} from '../../domain/inbound-message.js';
import type { EnqueueResult, JobSink } from '../../ports/job-queue.js';

export const CONTROL_GROUP_SUFFIX = '#control';

export const jobPayloadSchema = z.object({
  v: z.literal(1),
  kind: z.enum(['turn', 'control']),
  message: inboundMessageSchema,
});

export interface JobPayload {
  v: 1;
  kind: LaneKind;
  message: InboundMessage;
}

/** Reads a queue message body; throws (a ZodError or SyntaxError) when it is not a job. */
export function parseJobPayload(body: string): JobPayload {
  return jobPayloadSchema.parse(JSON.parse(body)) as JobPayload;
}

/** The FIFO message group of a conversation's lane. */
export function messageGroupId(message: InboundMessage, kind: LaneKind): string {
  const id = conversationId(message.conversation);
  return sqsToken(kind === 'control' ? `${id}${CONTROL_GROUP_SUFFIX}` : id);
}

export function deduplicationId(message: InboundMessage): string {
  return sqsToken(message.id);
}

/**
 * Group and deduplication ids allow up to 128 printable ASCII characters. The
 * ids used here fit; anything that does not is hashed, which keeps it stable.
 */
function sqsToken(value: string): string {
  return /^[\x21-\x7e]{1,128}$/.test(value)
    ? value
    : createHash('sha256').update(value).digest('hex');
}

export interface SqsJobSinkOptions {
  client: SQSClient;
  /** The FIFO queue's URL. */
  queueUrl: string;
}

export class SqsJobSink implements JobSink {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(options: SqsJobSinkOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
  }

  /** Resolves once SQS has stored the message; throws if it could not be sent. */
  async enqueue(message: InboundMessage, kind: LaneKind): Promise<EnqueueResult> {
    const payload: JobPayload = { v: 1, kind, message };
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: JSON.stringify(payload),
        MessageGroupId: messageGroupId(message, kind),
        MessageDeduplicationId: deduplicationId(message),
      }),
    );
    // SQS answers a repeat within its window like a new message; the update
    // dedupe in front of this sink is what reports duplicates.
    return 'enqueued';
  }
}
