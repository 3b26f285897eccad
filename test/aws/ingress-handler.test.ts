import * as crypto from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoTurnControl } from '../../src/adapters/aws/dynamo-turn-control.js';
import { parseJobPayload } from '../../src/adapters/aws/sqs-job-sink.js';
import { MAX_UPDATE_BYTES } from '../../src/adapters/telegram/webhook-request.js';
import {
  createIngressHandler,
  type IngressHandler,
  SECRET_HEADER,
} from '../../src/entrypoints/aws/ingress-handler.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { SecretSource } from '../../src/ports/secret-source.js';
import { texts } from '../../src/texts/en.js';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.js';
import { FakeBotApi, textMessageUpdate } from '../support/fake-bot-api.js';
import { type SqsEmulator, startSqsEmulator } from '../support/sqs-emulator.js';

// The secret check must go through a constant-time comparison.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const WEBHOOK_SECRET = 'webhook-secret-for-tests-0123456789';
const ARN = {
  token: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bot-token',
  webhook: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook',
};
const ALLOWED = { id: 111, first_name: 'Ada' };

let aws: AwsEmulators;
let sqs: SqsEmulator;
let api: FakeBotApi;
let handler: IngressHandler;
let sends = 0;

function env(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    TABLE_NAME: aws.tableName,
    JOB_QUEUE_URL: sqs.queueUrl,
    TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
    TELEGRAM_WEBHOOK_SECRET_ARN: ARN.webhook,
    TELEGRAM_ALLOWED_USER_IDS: String(ALLOWED.id),
    TELEGRAM_API_ROOT: api.apiRoot,
    TENANT: 'test',
    ...overrides,
  };
}

const secrets: SecretSource = {
  async get(arn) {
    if (arn === ARN.token) return api.token;
    if (arn === ARN.webhook) return WEBHOOK_SECRET;
    throw new Error(`no secret ${arn}`);
  },
};

function event(
  body: unknown,
  options: { secret?: string | null; raw?: string; base64?: boolean } = {},
): APIGatewayProxyEventV2 {
  const secret = options.secret === undefined ? WEBHOOK_SECRET : options.secret;
  const text = options.raw ?? JSON.stringify(body);
  return {
    version: '2.0',
    routeKey: 'POST /telegram/webhook',
    rawPath: '/telegram/webhook',
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      ...(secret !== null ? { [SECRET_HEADER]: secret } : {}),
    },
    requestContext: { http: { method: 'POST', sourceIp: '203.0.113.9' } },
    body: options.base64 ? Buffer.from(text).toString('base64') : text,
    isBase64Encoded: options.base64 ?? false,
  } as unknown as APIGatewayProxyEventV2;
}

/** Everything visible in the queue, removed from it. */
async function drain() {
  const records = await sqs.receiveRecords();
  for (const record of records) {
    await sqs.client.send(
      new DeleteMessageCommand({
        QueueUrl: sqs.queueUrl,
        ReceiptHandle: record.receiptHandle,
      }),
    );
  }
  return records;
}

beforeAll(async () => {
  [aws, sqs, api] = await Promise.all([
    startAwsEmulators(),
    startSqsEmulator(),
    FakeBotApi.start(),
  ]);
  sqs.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageCommand') sends += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countSends' },
  );
  handler = createIngressHandler({
    env: env(),
    secrets,
    dynamo: aws.dynamo,
    sqs: sqs.client,
    logger: silentLogger,
  });
});

afterEach(async () => {
  await drain();
});

afterAll(async () => {
  await Promise.all([aws?.stop(), sqs?.stop(), api?.stop()]);
});

describe('ingress handler', () => {
  it('rejects a missing or wrong secret with 401, comparing in constant time', async () => {
    const update = {
      update_id: 1,
      ...textMessageUpdate({ chatId: 111, text: 'hi', from: ALLOWED }),
    };
    const compare = vi.mocked(crypto.timingSafeEqual);
    compare.mockClear();

    expect((await handler(event(update, { secret: null }))).statusCode).toBe(401);
    expect((await handler(event(update, { secret: 'short' }))).statusCode).toBe(401);
    const sameLength = `${WEBHOOK_SECRET.slice(0, -1)}X`;
    expect((await handler(event(update, { secret: sameLength }))).statusCode).toBe(401);
    expect(compare).toHaveBeenCalledTimes(2);
    expect(sends).toBe(0);
  });

  it('answers 400 only for bodies that are not updates', async () => {
    expect((await handler(event(null, { raw: '{not json' }))).statusCode).toBe(400);
    expect((await handler(event({ hello: 'world' }))).statusCode).toBe(400);
    expect((await handler(event({ update_id: 'seven' }))).statusCode).toBe(400);
    expect((await handler(event(null))).statusCode).toBe(400);
    expect((await handler(event([1, 2]))).statusCode).toBe(400);
    expect((await handler(event(null, { raw: 'null', base64: true }))).statusCode).toBe(400);
    expect(sends).toBe(0);
  });

  it('refuses a body over the size limit with 413 before parsing it, and queues nothing', async () => {
    const before = sends;
    const huge = {
      update_id: 90,
      ...textMessageUpdate({ chatId: 111, text: 'x'.repeat(5_000_000), from: ALLOWED }),
    };
    expect((await handler(event(huge))).statusCode).toBe(413);
    expect((await handler(event(huge, { base64: true }))).statusCode).toBe(413);
    // Just under the limit is taken (and refused as too long for a turn, with a short answer).
    const big = {
      update_id: 91,
      ...textMessageUpdate({
        chatId: 111,
        text: 'y'.repeat(MAX_UPDATE_BYTES - 1_000),
        from: ALLOWED,
      }),
    };
    expect((await handler(event(big))).statusCode).toBe(200);
    // The refusal is answered here, with nothing queued for a worker.
    expect(sends - before).toBe(0);
    expect(await drain()).toEqual([]);
    expect(api.sentMessages(111).map((sent) => sent.text)).toEqual([
      expect.stringContaining('too long'),
    ]);
    // Without the secret, the size is not even looked at.
    expect((await handler(event(huge, { secret: 'wrong' }))).statusCode).toBe(401);
  });

  it('answers a stranger once, not 40 times, and keeps the operator detail out of it', async () => {
    const stranger = { id: 4040, first_name: 'Eve' };
    const before = sends;
    for (let updateId = 1_000; updateId < 1_040; updateId++) {
      const update = {
        update_id: updateId,
        ...textMessageUpdate({ chatId: 4040, text: 'let me in', from: stranger }),
      };
      expect((await handler(event(update))).statusCode).toBe(200);
    }
    // Answered here, once; nothing queued.
    expect(sends - before).toBe(0);
    const answers = api.sentMessages(4040).map((sent) => sent.text);
    expect(answers).toEqual([expect.stringContaining('4040')]);
    expect(JSON.stringify(answers)).not.toContain('TELEGRAM_ALLOWED');
  });

  it('acknowledges updates it does not handle with 200 and queues nothing', async () => {
    const before = sends;
    const channelPost = {
      update_id: 20,
      channel_post: { message_id: 1, chat: { id: -5, type: 'channel' } },
    };
    expect((await handler(event(channelPost))).statusCode).toBe(200);
    const notForTheBot = {
      update_id: 21,
      ...textMessageUpdate({ chatId: -100777, text: 'people talking', from: ALLOWED }),
    };
    expect((await handler(event(notForTheBot))).statusCode).toBe(200);
    // A button from an older version of the bot is answered, so it stops spinning.
    const button = { update_id: 22, callback_query: { id: 'cb-1', from: ALLOWED, data: 'x' } };
    expect((await handler(event(button))).statusCode).toBe(200);
    expect(api.callsTo('answerCallbackQuery').map((call) => call.params.callback_query_id)).toEqual(
      ['cb-1'],
    );
    expect(sends).toBe(before);
  });

  it('queues a message on its conversation group, with a valid payload, once per update_id', async () => {
    const update = {
      update_id: 30,
      ...textMessageUpdate({ chatId: 111, text: 'hello agent', from: ALLOWED, messageId: 9 }),
    };
    const before = sends;
    expect((await handler(event(update))).statusCode).toBe(200);
    // Telegram redelivers (a timeout on its side): acknowledged, not sent again.
    expect((await handler(event(update, { base64: true }))).statusCode).toBe(200);
    expect(sends - before).toBe(1);

    const records = await drain();
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record?.attributes.MessageGroupId).toBe('test:telegram:111:-');
    expect(record?.attributes.MessageDeduplicationId).toBe(`telegram:${api.botId}:30`);
    const payload = parseJobPayload(record?.body ?? '');
    expect(payload).toMatchObject({
      v: 1,
      kind: 'turn',
      message: {
        id: `telegram:${api.botId}:30`,
        conversation: { tenant: 'test', channel: 'telegram', chatId: '111' },
        messageId: '9',
        body: { kind: 'text', text: 'hello agent' },
      },
    });
    // The bot's identity was looked up once for the container.
    expect(api.callsTo('getMe')).toHaveLength(1);
  });

  it('answers refusals and commands itself, once per update, queueing nothing', async () => {
    const stranger = { id: 999, first_name: 'Eve' };
    const before = sends;
    await handler(
      event({ update_id: 40, ...textMessageUpdate({ chatId: 999, text: 'hi', from: stranger }) }),
    );
    const status = {
      update_id: 41,
      ...textMessageUpdate({ chatId: 111, text: '/status', from: ALLOWED }),
    };
    expect((await handler(event(status))).statusCode).toBe(200);
    // Telegram delivers it again: answered once.
    expect((await handler(event(status))).statusCode).toBe(200);
    expect(sends).toBe(before);
    expect(await drain()).toEqual([]);
    expect(api.sentMessages(999).map((sent) => sent.text)).toEqual([
      expect.stringContaining('999'),
    ]);
    const statuses = api
      .sentMessages(111)
      .filter((sent) => sent.text.includes('Session: none yet'));
    expect(statuses).toHaveLength(1);
  });

  it('puts a control message on the control lane when Telegram cannot take the answer now', async () => {
    api.failNext('sendMessage', { error_code: 502, description: 'Bad Gateway' });
    const before = sends;
    const help = {
      update_id: 42,
      ...textMessageUpdate({ chatId: 111, text: '/help', from: ALLOWED }),
    };
    expect((await handler(event(help))).statusCode).toBe(200);
    expect(sends - before).toBe(1);
    const records = await drain();
    expect(records.map((record) => record.attributes.MessageGroupId)).toEqual([
      'test:telegram:111:-#control',
    ]);
    expect(parseJobPayload(records[0]?.body ?? '').message.body).toEqual({
      kind: 'command',
      command: 'help',
      args: '',
    });
  });

  it('answers 503 when SQS cannot be reached, and lets the retry through', async () => {
    const unreachable = new SQSClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const broken = createIngressHandler({
      env: env(),
      secrets,
      dynamo: aws.dynamo,
      sqs: unreachable,
      logger: silentLogger,
    });
    const update = {
      update_id: 50,
      ...textMessageUpdate({ chatId: 111, text: 'not lost', from: ALLOWED }),
    };
    try {
      expect((await broken(event(update))).statusCode).toBe(503);
    } finally {
      unreachable.destroy();
    }
    // The dedupe mark was forgotten: Telegram's retry is queued, not dropped.
    expect((await handler(event(update))).statusCode).toBe(200);
    const records = await drain();
    expect(records.map((record) => parseJobPayload(record.body).message.body)).toEqual([
      { kind: 'text', text: 'not lost' },
    ]);
  });

  it('answers 503 while a claim whose enqueue failed cannot be dropped, then accepts the retry', async () => {
    let clock = Date.now();
    // The enqueue fails after the dedupe claim, and so does dropping the claim.
    const noDeletes = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: aws.dynamoEndpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    noDeletes.middlewareStack.add(
      (next, context) => async (args) => {
        if (
          context.commandName === 'DeleteCommand' ||
          context.commandName === 'DeleteItemCommand'
        ) {
          throw new Error('DynamoDB unavailable');
        }
        return next(args);
      },
      { step: 'initialize', name: 'failDeletes' },
    );
    const unreachable = new SQSClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const options = { env: env(), secrets, logger: silentLogger, now: () => clock };
    const broken = createIngressHandler({ ...options, dynamo: noDeletes, sqs: unreachable });
    const healthy = createIngressHandler({ ...options, dynamo: aws.dynamo, sqs: sqs.client });
    const update = {
      update_id: 52,
      ...textMessageUpdate({ chatId: 111, text: 'still not lost', from: ALLOWED }),
    };
    try {
      expect((await broken(event(update))).statusCode).toBe(503);
    } finally {
      unreachable.destroy();
      noDeletes.destroy();
    }
    const before = sends;
    // The claim is still there, uncommitted: Telegram is asked to retry, not told "done".
    expect((await healthy(event(update))).statusCode).toBe(503);
    expect(sends).toBe(before);
    // Once the claim lapses, the retry is queued, and only once.
    clock += 61_000;
    expect((await healthy(event(update))).statusCode).toBe(200);
    expect((await healthy(event(update))).statusCode).toBe(200);
    const records = await drain();
    expect(records.map((record) => parseJobPayload(record.body).message.body)).toEqual([
      { kind: 'text', text: 'still not lost' },
    ]);
  });

  it('answers 503 when DynamoDB cannot take the dedupe mark, and queues nothing', async () => {
    const broken = createIngressHandler({
      env: env({ TABLE_NAME: 'no-such-table' }),
      secrets,
      dynamo: aws.dynamo,
      sqs: sqs.client,
      logger: silentLogger,
    });
    const before = sends;
    const update = {
      update_id: 55,
      ...textMessageUpdate({ chatId: 111, text: 'x', from: ALLOWED }),
    };
    expect((await broken(event(update))).statusCode).toBe(503);
    expect(sends).toBe(before);
  });

  it('stops a running turn directly on /stop, and answers /stop itself when nothing runs', async () => {
    const conversation = 'test:telegram:111:-';
    const turns = new DynamoTurnControl({
      client: aws.dynamo,
      tableName: aws.tableName,
      pollIntervalMs: 50,
    });
    const running = turns.begin(conversation);
    await vi.waitFor(async () => expect(await turns.runningSince(conversation)).not.toBeNull());

    const before = sends;
    const stop = (updateId: number) => ({
      update_id: updateId,
      ...textMessageUpdate({ chatId: 111, text: '/stop', from: ALLOWED }),
    });
    expect((await handler(event(stop(60)))).statusCode).toBe(200);
    await vi.waitFor(() => expect(running.signal.aborted).toBe(true), { timeout: 5_000 });
    expect(sends).toBe(before);
    running.end();
    await turns.idle();

    expect((await handler(event(stop(61)))).statusCode).toBe(200);
    expect(sends).toBe(before);
    expect(await drain()).toEqual([]);
    expect(api.sentMessages(111).map((sent) => sent.text)).toContain(texts.nothingToStop);
  });

  it('answers 500 when it is not configured', async () => {
    const misconfigured = createIngressHandler({
      env: env({ TABLE_NAME: '' }),
      secrets,
      logger: silentLogger,
    });
    expect((await misconfigured(event({ update_id: 70 }))).statusCode).toBe(500);
  });
});
