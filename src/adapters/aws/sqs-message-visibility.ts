import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { MessageVisibility } from './sqs-record-processor.js';

export interface SqsMessageVisibilityOptions {
  client: SQSClient;
  /** The queue's URL; when unset, derived from each record's `eventSourceARN`. */
  queueUrl?: string | undefined;
}

/** SQS allows a visibility timeout of 0 to 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/** `ChangeMessageVisibility` on the queue a record came from. */
export class SqsMessageVisibility implements MessageVisibility {
  readonly #client: SQSClient;
  readonly #queueUrl: string | undefined;

  constructor(options: SqsMessageVisibilityOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
  }

  async change(record: SQSRecord, seconds: number): Promise<void> {
    await this.#client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.#queueUrl ?? queueUrlFromArn(record.eventSourceARN),
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(seconds))),
      }),
    );
  }
}

/** `arn:aws:sqs:eu-west-1:123456789012:jobs.fifo` -> its queue URL. */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(':');
  if (!partition || !region || !account || !name) throw new Error(`not an SQS queue ARN: ${arn}`);
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}
