/**
 * SQS for tests: local-aws-sqs (an in-process protocol emulator from the npm
 * registry, JSON and Query protocols) on a random loopback port, with a FIFO
 * job queue and its FIFO dead-letter queue set up the way the stack sets
 * them up (no content-based deduplication, per-group deduplication scope,
 * redrive after `maxReceiveCount` receives).
 *
 * `receiveRecords` turns received messages into the records the Lambda event
 * source mapping would hand the worker, and `deliver` plays the mapping: it
 * receives a batch, invokes the handler with exactly those records, and
 * deletes the ones not reported as batch item failures.
 *
 * Known gap, worked around here: local-aws-sqs 2.0.2 runs its receive
 * bookkeeping for ChangeMessageVisibility, so each change counts as a receive
 * (ApproximateReceiveCount goes up) and a message whose visibility was
 * changed reaches the dead-letter queue a receive early. Real SQS does not
 * count it. So ChangeMessageVisibility is answered here without reaching the
 * emulator, and recorded (`visibilityChanges`); tests choose the visibility
 * timeout per receive instead.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { closeServer, listenOnLoopback } from '../../src/lib/http-server.js';

type CreateRequestHandler = (options: {
  port: number;
  hostname?: string;
  region?: string;
  emulateQueueCreationLifecycle?: boolean;
}) => {
  service: { PORT: number };
  requestHandler: Parameters<typeof createServer>[1];
};

const require = createRequire(import.meta.url);
const region = 'us-east-1';

export interface SqsEmulator {
  client: SQSClient;
  endpoint: string;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  /** ChangeMessageVisibility calls received (acknowledged, not applied: see above). */
  visibilityChanges: Array<{ receiptHandle: string; visibilityTimeout: number }>;
  /**
   * Receive up to `max` visible messages as Lambda SQS records (attributes
   * included), hidden for `visibilityTimeoutSeconds` (default: the queue's).
   */
  receiveRecords(max?: number, visibilityTimeoutSeconds?: number): Promise<SQSRecord[]>;
  /**
   * One poll of the event source mapping: receive, call `handle` with those
   * records (if any), delete the successes. Returns the records and the answer.
   */
  deliver(
    handle: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>,
    context: Context,
    options?: { max?: number; visibilityTimeoutSeconds?: number },
  ): Promise<{ records: SQSRecord[]; response: SQSBatchResponse | undefined }>;
  /** Messages in the dead-letter queue (received, so hidden for a while). */
  deadLetters(): Promise<Message[]>;
  /** `deliver`, from the dead-letter queue: one poll of the dead-letter consumer's event source. */
  deliverDeadLetters(
    handle: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>,
    context: Context,
  ): Promise<{ records: SQSRecord[]; response: SQSBatchResponse | undefined }>;
  stop(): Promise<void>;
}

export async function startSqsEmulator(
  options: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number } = {},
): Promise<SqsEmulator> {
  const { createRequestHandler } = require('local-aws-sqs') as {
    createRequestHandler: CreateRequestHandler;
  };
  const { service, requestHandler } = createRequestHandler({
    port: 0,
    hostname: '127.0.0.1',
    region,
    emulateQueueCreationLifecycle: false,
  });
  const visibilityChanges: SqsEmulator['visibilityChanges'] = [];
  const server = createServer((req, res) => {
    if (req.headers['x-amz-target'] !== 'AmazonSQS.ChangeMessageVisibility') {
      requestHandler?.(req, res);
      return;
    }
    void readJson(req).then((input) => {
      visibilityChanges.push({
        receiptHandle: String(input.ReceiptHandle),
        visibilityTimeout: Number(input.VisibilityTimeout),
      });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
    });
  });
  const port = await listenOnLoopback(server);
  // Queue URLs carry the port.
  service.PORT = port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new SQSClient({
    region,
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

  const suffix = randomUUID().slice(0, 8);
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: `dead-letters-${suffix}.fifo`,
      Attributes: { FifoQueue: 'true' },
    }),
  );
  const dlqUrl = dlq.QueueUrl as string;
  const arnOf = async (url: string) =>
    (
      await client.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn as string;
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: `jobs-${suffix}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        ContentBasedDeduplication: 'false',
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 60),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: await arnOf(dlqUrl),
          maxReceiveCount: options.maxReceiveCount ?? 3,
        }),
      },
    }),
  );
  const queueUrl = queue.QueueUrl as string;
  const queueArn = await arnOf(queueUrl);

  const dlqArn = await arnOf(dlqUrl);

  const receiveFrom = async (
    url: string,
    arn: string,
    max = 10,
    visibilityTimeoutSeconds?: number,
  ): Promise<SQSRecord[]> => {
    const { Messages } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: max,
        VisibilityTimeout: visibilityTimeoutSeconds,
        // The emulator answers the older attribute parameter; send both.
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    return (Messages ?? []).map((message) => toRecord(message, arn));
  };
  const receiveRecords = (max?: number, visibilityTimeoutSeconds?: number) =>
    receiveFrom(queueUrl, queueArn, max, visibilityTimeoutSeconds);

  /** One poll of an event source mapping on `url`: receive, handle, delete the successes. */
  const deliverFrom = async (
    url: string,
    records: SQSRecord[],
    handle: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>,
    context: Context,
  ) => {
    if (records.length === 0) return { records, response: undefined };
    const response = await handle({ Records: records }, context);
    const failed = new Set(response.batchItemFailures.map((item) => item.itemIdentifier));
    const done = records.filter((record) => !failed.has(record.messageId));
    if (done.length > 0) {
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: done.map((record, index) => ({
            Id: String(index),
            ReceiptHandle: record.receiptHandle,
          })),
        }),
      );
    }
    return { records, response };
  };

  return {
    client,
    endpoint,
    queueUrl,
    queueArn,
    dlqUrl,
    visibilityChanges,
    receiveRecords,
    async deliver(handle, context, options = {}) {
      const records = await receiveRecords(options.max, options.visibilityTimeoutSeconds);
      return deliverFrom(queueUrl, records, handle, context);
    },
    async deliverDeadLetters(handle, context) {
      return deliverFrom(dlqUrl, await receiveFrom(dlqUrl, dlqArn), handle, context);
    },
    async deadLetters() {
      const { Messages } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: 10,
          AttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      return Messages ?? [];
    },
    async stop() {
      client.destroy();
      await closeServer(server);
    },
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = (message.Attributes ?? {}) as Record<string, string>;
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'test',
      ApproximateFirstReceiveTimestamp:
        attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      SequenceNumber: attributes.SequenceNumber,
      MessageGroupId: attributes.MessageGroupId,
      MessageDeduplicationId: attributes.MessageDeduplicationId,
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** A Lambda context whose remaining time counts down from `remainingMs`. */
export function lambdaContext(remainingMs = 900_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'test-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-function',
    memoryLimitInMB: '2048',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/test-function',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
