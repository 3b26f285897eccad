import type { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { queueUrlFromArn, SqsMessageVisibility } from './sqs-message-visibility.js';

/** An SQS client that records the commands sent to it. */
function recordingClient() {
  const sent: Array<ChangeMessageVisibilityCommand['input']> = [];
  const client = {
    send: async (command: ChangeMessageVisibilityCommand) => {
      sent.push(command.input);
      return {};
    },
  } as unknown as SQSClient;
  return { client, sent };
}

const record = {
  receiptHandle: 'handle-1',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:jobs.fifo',
} as SQSRecord;

describe('SqsMessageVisibility', () => {
  it("changes the visibility on the record's own queue, within what SQS allows", async () => {
    const { client, sent } = recordingClient();
    const visibility = new SqsMessageVisibility({ client });
    await visibility.change(record, 12.4);
    await visibility.change(record, -5);
    await visibility.change(record, 100_000);
    expect(sent).toEqual([
      {
        QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo',
        ReceiptHandle: 'handle-1',
        VisibilityTimeout: 12,
      },
      expect.objectContaining({ VisibilityTimeout: 0 }),
      expect.objectContaining({ VisibilityTimeout: 43_200 }),
    ]);
  });

  it('uses the configured queue URL when there is one', async () => {
    const { client, sent } = recordingClient();
    await new SqsMessageVisibility({
      client,
      queueUrl: 'http://127.0.0.1:9324/q/jobs.fifo',
    }).change(record, 0);
    expect(sent[0]?.QueueUrl).toBe('http://127.0.0.1:9324/q/jobs.fifo');
  });
});

describe('queueUrlFromArn', () => {
  it('maps a queue ARN to its URL, China regions included', () => {
    expect(queueUrlFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:jobs.fifo')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs.fifo',
    );
    expect(() => queueUrlFromArn('not-an-arn')).toThrow('not an SQS queue ARN');
  });
});
