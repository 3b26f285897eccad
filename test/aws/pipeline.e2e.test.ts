import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoConversationIndex } from '../../src/adapters/aws/dynamo-conversation-index.js';
import { DynamoConversationLease } from '../../src/adapters/aws/dynamo-conversation-lease.js';
import { DynamoTurnControl } from '../../src/adapters/aws/dynamo-turn-control.js';
import { DEFAULT_TEXTS } from '../../src/core/pipeline/conversation-worker.js';
import {
  createDeadLetterHandler,
  type DeadLetterHandler,
} from '../../src/entrypoints/aws/dead-letter-handler.js';
import {
  createIngressHandler,
  type IngressHandler,
  SECRET_HEADER,
} from '../../src/entrypoints/aws/ingress-handler.js';
import {
  createWorker,
  type LambdaWorker,
  type WorkerOptions,
} from '../../src/entrypoints/aws/worker-handler.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { SecretSource } from '../../src/ports/secret-source.js';
import type { TurnRunner } from '../../src/ports/turn-runner.js';
import { texts } from '../../src/texts/en.js';
import { writeAgentDir } from '../support/agent-fixture.js';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.js';
import { FakeBotApi, textMessageUpdate } from '../support/fake-bot-api.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  requestText,
  ScriptedModelServer,
} from '../support/scripted-model-server.js';
import { lambdaContext, type SqsEmulator, startSqsEmulator } from '../support/sqs-emulator.js';

// The AWS deployment's whole path, offline: API Gateway event -> ingress
// handler -> SQS FIFO (emulated) -> worker handler fed exactly the records it
// received -> the real agent (Claude Code) against a scripted model ->
// Telegram (fake Bot API); storage in emulated DynamoDB and S3.

const WEBHOOK_SECRET = 'pipeline-webhook-secret-0123456789';
const ARN = {
  token: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bot-token',
  webhook: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook',
  anthropic: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:anthropic',
};
const MAX_ATTEMPTS = 2;

let aws: AwsEmulators;
let sqs: SqsEmulator;
let api: FakeBotApi;
let root = '';
let agentDir = '';
let ingress: IngressHandler;
const model = new ScriptedModelServer({ fallback: respond });
const secrets: SecretSource = {
  async get(arn) {
    if (arn === ARN.token) return api.token;
    if (arn === ARN.webhook) return WEBHOOK_SECRET;
    if (arn === ARN.anthropic) return 'sk-test-upstream-key';
    throw new Error(`no secret ${arn}`);
  },
};

function respond(request: RecordedRequest) {
  const text = lastUserText(request);
  if (text.includes('remember the word')) return reply.text('Noted: PAPAYA.');
  if (text.includes('Which word')) return reply.text('The word was PAPAYA.');
  if (text.includes('slow task')) return reply.text('far too late', { delayMs: 30_000 });
  if (text.includes('endless story'))
    return reply.text('Once upon a time '.repeat(40), { stream: { deltas: 40, delayMs: 500 } });
  return reply.text(`echo: ${text}`);
}

/** DATA_DIR of the emulated Lambda: the same path in every container, as /tmp/agent-data is. */
const dataDir = () => path.join(root, 'lambda-tmp', 'agent-data');

function workerOptions(overrides: Partial<WorkerOptions> = {}): WorkerOptions {
  return {
    env: {
      TABLE_NAME: aws.tableName,
      TRANSCRIPT_BUCKET: aws.bucket,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      ANTHROPIC_API_KEY_SECRET_ARN: ARN.anthropic,
      ANTHROPIC_BASE_URL: model.url,
      JOB_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      JOB_QUEUE_URL: sqs.queueUrl,
      TELEGRAM_API_ROOT: api.apiRoot,
      SESSION_TTL_DAYS: '25',
      DATA_DIR: dataDir(),
      AGENT_DIR: agentDir,
    },
    secrets,
    dynamo: aws.dynamo,
    s3: aws.s3,
    sqs: sqs.client,
    logger: silentLogger,
    ...overrides,
  };
}

function post(
  update: Record<string, unknown>,
  to: IngressHandler = ingress,
): ReturnType<IngressHandler> {
  return to({
    version: '2.0',
    routeKey: 'POST /telegram/webhook',
    rawPath: '/telegram/webhook',
    headers: { 'content-type': 'application/json', [SECRET_HEADER]: WEBHOOK_SECRET },
    requestContext: { http: { method: 'POST', sourceIp: '149.154.167.197' } },
    body: JSON.stringify(update),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2);
}

let nextUpdateId = 1000;
function message(chatId: number, text: string): Record<string, unknown> {
  return {
    update_id: nextUpdateId++,
    ...textMessageUpdate({ chatId, text, from: { id: chatId, first_name: 'Ada' } }),
  };
}

const failures = (response: SQSBatchResponse | undefined) =>
  (response?.batchItemFailures ?? []).map((item) => item.itemIdentifier);

beforeAll(async () => {
  [aws, sqs, api] = await Promise.all([
    startAwsEmulators(),
    startSqsEmulator({ maxReceiveCount: MAX_ATTEMPTS }),
    FakeBotApi.start(),
    model.start(),
  ]);
  root = await mkdtemp(path.join(tmpdir(), 'aws-pipeline-'));
  agentDir = await writeAgentDir(root, { 'system_prompt.md': 'You are TestBot.' });
  ingress = createIngressHandler({
    env: {
      TABLE_NAME: aws.tableName,
      JOB_QUEUE_URL: sqs.queueUrl,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      TELEGRAM_WEBHOOK_SECRET_ARN: ARN.webhook,
      TELEGRAM_ALLOWED_USER_IDS: '101,102,103,104,105,106,110',
      TELEGRAM_API_ROOT: api.apiRoot,
      TENANT: 'e2e',
    },
    secrets,
    dynamo: aws.dynamo,
    sqs: sqs.client,
    logger: silentLogger,
  });
});

/** The ingress handler in front of another queue. */
function ingressFor(queue: SqsEmulator): IngressHandler {
  return createIngressHandler({
    env: {
      TABLE_NAME: aws.tableName,
      JOB_QUEUE_URL: queue.queueUrl,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      TELEGRAM_WEBHOOK_SECRET_ARN: ARN.webhook,
      TELEGRAM_ALLOWED_USER_IDS: '107,108,109',
      TELEGRAM_API_ROOT: api.apiRoot,
      TENANT: 'e2e',
    },
    secrets,
    dynamo: aws.dynamo,
    sqs: queue.client,
    logger: silentLogger,
  });
}

/** The worker of another queue. */
function workerFor(queue: SqsEmulator, overrides: Partial<WorkerOptions> = {}): LambdaWorker {
  const base = workerOptions();
  return createWorker({
    ...base,
    env: { ...base.env, JOB_QUEUE_URL: queue.queueUrl },
    sqs: queue.client,
    ...overrides,
  });
}

/** A FIFO queue the dead-letter consumer parks dead letters in (the redrive source). */
async function createParkedQueue(client: SQSClient): Promise<string> {
  const { QueueUrl } = await client.send(
    new CreateQueueCommand({
      QueueName: `parked-${Math.random().toString(36).slice(2, 10)}.fifo`,
      Attributes: { FifoQueue: 'true' },
    }),
  );
  return QueueUrl as string;
}

function deadLetterConsumer(queue: SqsEmulator, parkedQueueUrl: string): DeadLetterHandler {
  return createDeadLetterHandler({
    env: {
      TABLE_NAME: aws.tableName,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      PARKED_QUEUE_URL: parkedQueueUrl,
      TELEGRAM_API_ROOT: api.apiRoot,
    },
    secrets,
    dynamo: aws.dynamo,
    sqs: queue.client,
    logger: silentLogger,
  });
}

/** A runner that answers (or fails while `fail()` says so), counting its turns. */
function countingRunner(fail: () => boolean = () => false): TurnRunner & { runs: number } {
  const runner = {
    runs: 0,
    async runTurn(request: { prompt: string }) {
      runner.runs += 1;
      return {
        outcome: fail() ? ('error' as const) : ('success' as const),
        text: `answer: ${request.prompt}`,
        sessionId: null,
        startedSession: false,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        durationMs: 1,
      };
    },
    async resetConversation() {},
  };
  return runner;
}

async function receiveAll(client: SQSClient, queueUrl: string) {
  const { Messages } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      AttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

afterAll(async () => {
  await Promise.all([aws?.stop(), sqs?.stop(), api?.stop(), model.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('AWS pipeline', () => {
  it('answers through ingress, SQS and the worker, and a fresh worker resumes the session', async () => {
    const chatId = 101;
    const first = createWorker(workerOptions());
    try {
      expect((await post(message(chatId, 'Please remember the word PAPAYA.'))).statusCode).toBe(
        200,
      );
      const { records, response } = await sqs.deliver(first.handle, lambdaContext());
      expect(records).toHaveLength(1);
      expect(records[0]?.attributes.MessageGroupId).toBe('e2e:telegram:101:-');
      expect(failures(response)).toEqual([]);
      expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual(['Noted: PAPAYA.']);
    } finally {
      await first.close();
    }

    // A cold container: nothing on local disk, only DynamoDB and S3 remember.
    await rm(dataDir(), { recursive: true, force: true });
    const second = createWorker(workerOptions());
    try {
      expect(
        (await post(message(chatId, 'Which word did I ask you to remember?'))).statusCode,
      ).toBe(200);
      const { records, response } = await sqs.deliver(second.handle, lambdaContext());
      expect(records).toHaveLength(1);
      expect(failures(response)).toEqual([]);
    } finally {
      await second.close();
    }
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([
      'Noted: PAPAYA.',
      'The word was PAPAYA.',
    ]);
    const turn2 = model.messageRequests.filter((request) =>
      lastUserText(request).includes('Which word'),
    );
    expect(turn2.length).toBeGreaterThan(0);
    const history = requestText(turn2[0] as RecordedRequest);
    expect(history).toContain('Please remember the word PAPAYA.');
    expect(history).toContain('Noted: PAPAYA.');

    const record = await new DynamoConversationIndex({
      client: aws.dynamo,
      tableName: aws.tableName,
    }).get('e2e:telegram:101:-');
    expect(record?.turns).toBe(2);
    // Both containers worked under the data directory only.
    expect(await readdir(dataDir())).toEqual(expect.arrayContaining(['tmp', 'workspaces']));
  });

  it('stops a turn before the Lambda deadline, keeps its session and tells the person, with no continuation left', async () => {
    const chatId = 102;
    const base = workerOptions({ deadlineMarginMs: 3_000, minTurnMs: 1_000 });
    const worker = createWorker({ ...base, env: { ...base.env, MAX_CONTINUATIONS: '0' } });
    try {
      await post(message(chatId, 'Do this slow task please.'));
      // Seven seconds left in the invocation: the turn gets four.
      const { response } = await sqs.deliver(worker.handle, lambdaContext(7_000));
      expect(failures(response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([texts.deadlineReached]);
    const record = await new DynamoConversationIndex({
      client: aws.dynamo,
      tableName: aws.tableName,
    }).get('e2e:telegram:102:-');
    expect(record?.sessionId).toBeTruthy();
    const turns = new DynamoTurnControl({ client: aws.dynamo, tableName: aws.tableName });
    expect(await turns.runningSince('e2e:telegram:102:-')).toBeNull();
  });

  it('stops a running turn on /stop without queueing behind it', async () => {
    const chatId = 103;
    const conversation = 'e2e:telegram:103:-';
    const worker = createWorker(workerOptions({ stopPollIntervalMs: 100 }));
    const turns = new DynamoTurnControl({ client: aws.dynamo, tableName: aws.tableName });
    try {
      await post(message(chatId, 'Another slow task, please.'));
      const delivery = sqs.deliver(worker.handle, lambdaContext());
      await waitUntil(async () => (await turns.runningSince(conversation)) !== null);
      expect((await post(message(chatId, '/stop'))).statusCode).toBe(200);
      const { response } = await delivery;
      expect(failures(response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([DEFAULT_TEXTS.stopped]);
    // The stop went straight to the turn: nothing was queued for it.
    expect(await sqs.receiveRecords()).toEqual([]);
  });

  it('previews the answer as a draft, whose stop button stops the turn through the ingress', async () => {
    const chatId = 110;
    const conversation = 'e2e:telegram:110:-';
    const worker = createWorker(workerOptions({ stopPollIntervalMs: 100 }));
    const turns = new DynamoTurnControl({ client: aws.dynamo, tableName: aws.tableName });
    try {
      await post(message(chatId, 'tell me an endless story'));
      const delivery = sqs.deliver(worker.handle, lambdaContext());
      await waitUntil(async () => api.drafts(chatId).length > 0);
      expect(await turns.runningSince(conversation)).not.toBeNull();
      const [draft] = api.drafts(chatId);
      expect(draft?.canStop).toBe(true);
      const stop = {
        update_id: nextUpdateId++,
        stopped_message_generation: {
          chat: { id: chatId, type: 'private', first_name: 'Ada' },
          draft_id: draft?.draftId,
        },
      };
      expect((await post(stop)).statusCode).toBe(200);
      const { response } = await delivery;
      expect(failures(response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([DEFAULT_TEXTS.stopped]);
    // Like /stop: straight to the running turn, nothing queued.
    expect(await sqs.receiveRecords()).toEqual([]);
  });

  it('sends one failure message on the last receive, then the message is dead-lettered', async () => {
    const chatId = 104;
    let runs = 0;
    const failing: TurnRunner = {
      async runTurn() {
        runs += 1;
        return {
          outcome: 'error',
          text: '',
          sessionId: null,
          startedSession: false,
          inputTokens: 0,
          outputTokens: 0,
          costUsd: 0,
          durationMs: 1,
        };
      },
      async resetConversation() {},
    };
    const worker = createWorker(workerOptions({ runner: failing, retryDelaySeconds: () => 0 }));
    const handles: string[] = [];
    try {
      await post(message(chatId, 'this keeps failing'));
      for (let receive = 1; receive <= MAX_ATTEMPTS; receive++) {
        // Hidden for a second per receive: the emulator's stand-in for the
        // worker's visibility change (see test/support/sqs-emulator.ts).
        const { records, response } = await deliverNext(worker.handle);
        handles.push(...records.map((record) => record.receiptHandle));
        expect(records.map((record) => record.attributes.ApproximateReceiveCount)).toEqual([
          String(receive),
        ]);
        expect(failures(response)).toEqual(records.map((record) => record.messageId));
        // Retries are silent; only the last receive tells the person.
        expect(api.sentMessages(chatId)).toHaveLength(receive === MAX_ATTEMPTS ? 1 : 0);
      }
      // SQS moves it to the dead-letter queue instead of delivering it a third time.
      let dead: Awaited<ReturnType<SqsEmulator['deadLetters']>> = [];
      await waitUntil(async () => {
        dead = await sqs.deadLetters();
        return dead.length > 0;
      });
      expect(dead.map((entry) => JSON.parse(entry.Body ?? '{}').message?.body)).toEqual([
        { kind: 'text', text: 'this keeps failing' },
      ]);
      expect((await sqs.deliver(worker.handle, lambdaContext())).records).toEqual([]);
    } finally {
      await worker.close();
    }
    // Each failed receive asked to be visible again at once (the retry delay here).
    expect(
      sqs.visibilityChanges.filter((change) => handles.includes(change.receiptHandle)),
    ).toEqual(handles.map((receiptHandle) => ({ receiptHandle, visibilityTimeout: 0 })));
    expect(runs).toBe(MAX_ATTEMPTS);
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([DEFAULT_TEXTS.failed]);
  });

  it('holds back the rest of a failed conversation in the batch, not other conversations', async () => {
    // Its two waiting messages make one turn, which fails: both go back.
    const prompts: string[] = [];
    const runner: TurnRunner = {
      async runTurn(request) {
        prompts.push(request.prompt);
        return {
          outcome: request.prompt.startsWith('fail') ? 'error' : 'success',
          text: 'ok',
          sessionId: null,
          startedSession: false,
          inputTokens: 0,
          outputTokens: 0,
          costUsd: 0,
          durationMs: 1,
        };
      },
      async resetConversation() {},
    };
    // Both conversations run in this invocation (none handed back), one after the other.
    const worker = createWorker(
      workerOptions({ runner, retryDelaySeconds: () => 30, handBackReceives: 0 }),
    );
    try {
      await post(message(105, 'fail first'));
      await post(message(105, 'second, held back'));
      await post(message(106, 'other conversation'));
      const { records, response } = await sqs.deliver(worker.handle, lambdaContext());
      const byText = new Map(
        records.map((record) => [JSON.parse(record.body).message.body.text as string, record]),
      );
      expect([...byText.keys()].sort()).toEqual([
        'fail first',
        'other conversation',
        'second, held back',
      ]);
      const id = (text: string) => byText.get(text)?.messageId;
      expect(failures(response).sort()).toEqual([id('fail first'), id('second, held back')].sort());
      expect(prompts.sort()).toEqual(['fail first\n\nsecond, held back', 'other conversation']);
      // The failed message waits for its backoff; the one behind it is not kept waiting longer.
      const visibility = (text: string) =>
        sqs.visibilityChanges.find(
          (change) => change.receiptHandle === byText.get(text)?.receiptHandle,
        )?.visibilityTimeout;
      expect(visibility('fail first')).toBe(30);
      expect(visibility('second, held back')).toBe(0);
      expect(api.sentMessages(106).map((sent) => sent.text)).toEqual(['ok']);
    } finally {
      await worker.close();
    }
  });

  it('reports a queue message that is not a job as failed without crashing or answering', async () => {
    const worker = createWorker(workerOptions({ runner: unusedRunner() }));
    const before = api.calls.length;
    try {
      await sqs.client.send(
        new SendMessageCommand({
          QueueUrl: sqs.queueUrl,
          MessageBody: '{"v":1,"kind":"turn","message":{"id":""}}',
          MessageGroupId: 'garbage',
          MessageDeduplicationId: 'garbage-1',
        }),
      );
      const { records, response } = await sqs.deliver(worker.handle, lambdaContext());
      expect(failures(response)).toEqual(records.map((record) => record.messageId));
    } finally {
      await worker.close();
    }
    expect(api.calls.length).toBe(before);
  });
});

describe('AWS pipeline: dead letters', () => {
  // A queue whose receives outnumber the worker's attempts, as the stack sets it up.
  let roomy: SqsEmulator;

  beforeAll(async () => {
    roomy = await startSqsEmulator({ maxReceiveCount: MAX_ATTEMPTS + 2 });
  });

  afterAll(async () => {
    await roomy?.stop();
  });

  it('tells the person once when the worker was killed on the last receive, and parks the job', async () => {
    const chatId = 107;
    const runner = countingRunner(() => true);
    const worker = createWorker(workerOptions({ runner, retryDelaySeconds: () => 0 }));
    const parkedUrl = await createParkedQueue(sqs.client);
    try {
      await post(message(chatId, 'this one gets the worker killed'), ingressFor(sqs));
      // First receive: a failed attempt, retried silently.
      const first = await deliverNext(worker.handle);
      expect(failures(first.response)).toEqual(first.records.map((record) => record.messageId));
      // Last receive: the invocation is killed (out of memory) and answers nothing.
      await waitUntil(async () => (await sqs.receiveRecords(10, 1)).length > 0);
    } finally {
      await worker.close();
    }
    expect(api.sentMessages(chatId)).toEqual([]);

    const consumer = deadLetterConsumer(sqs, parkedUrl);
    let consumed: Awaited<ReturnType<SqsEmulator['deliverDeadLetters']>> | undefined;
    await waitUntil(async () => {
      // SQS moves the message on the receive after its last.
      await sqs.deliver(worker.handle, lambdaContext(), { visibilityTimeoutSeconds: 1 });
      consumed = await sqs.deliverDeadLetters(consumer, lambdaContext());
      return consumed.records.length > 0;
    });
    expect(failures(consumed?.response)).toEqual([]);
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([DEFAULT_TEXTS.failed]);
    expect(runner.runs).toBe(1);
    // Parked for an operator, not gone: the body is the job, ready for a redrive.
    const parked = await receiveAll(sqs.client, parkedUrl);
    expect(parked.map((entry) => JSON.parse(entry.Body ?? '{}').message?.body)).toEqual([
      { kind: 'text', text: 'this one gets the worker killed' },
    ]);
  });

  it('does not use up an attempt on a lease conflict: busy receives run nothing, the next one answers', async () => {
    const chatId = 108;
    const conversation = 'e2e:telegram:108:-';
    const runner = countingRunner();
    const worker = workerFor(roomy, { runner });
    const leases = new DynamoConversationLease({ client: aws.dynamo, tableName: aws.tableName });
    const held = await leases.acquire(conversation, 'another-invocation', 600_000);
    expect(held).not.toBeNull();
    try {
      await post(message(chatId, 'wait for the other turn'), ingressFor(roomy));
      // As many receives as the worker has attempts, each finding the conversation busy.
      for (let receive = 1; receive <= MAX_ATTEMPTS; receive++) {
        const { records, response } = await deliverNext(worker.handle, roomy);
        expect(records.map((record) => record.attributes.ApproximateReceiveCount)).toEqual([
          String(receive),
        ]);
        expect(failures(response)).toEqual(records.map((record) => record.messageId));
      }
      expect(runner.runs).toBe(0);
      if (held) await leases.release(held);
      const { response } = await deliverNext(worker.handle, roomy);
      expect(failures(response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(runner.runs).toBe(1);
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([
      'answer: wait for the other turn',
    ]);
  });

  it('runs a job redriven from the dead-letter queue again, and answers it', async () => {
    const chatId = 109;
    let failing = true;
    const runner = countingRunner(() => failing);
    const worker = workerFor(roomy, { runner, retryDelaySeconds: () => 0 });
    const parkedUrl = await createParkedQueue(roomy.client);
    const consumer = deadLetterConsumer(roomy, parkedUrl);
    try {
      await post(message(chatId, 'worth another go'), ingressFor(roomy));
      // Attempts run out, the person is told, the receives run out: dead-lettered, parked.
      await waitUntil(async () => {
        await roomy.deliver(worker.handle, lambdaContext(), { visibilityTimeoutSeconds: 1 });
        return (await roomy.deliverDeadLetters(consumer, lambdaContext())).records.length > 0;
      });
      expect(runner.runs).toBe(MAX_ATTEMPTS);
      expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([DEFAULT_TEXTS.failed]);

      // The operator fixed the cause and redrives the parked message into the job queue.
      failing = false;
      const [parked] = await receiveAll(roomy.client, parkedUrl);
      expect(parked).toBeDefined();
      await roomy.client.send(
        new SendMessageCommand({
          QueueUrl: roomy.queueUrl,
          MessageBody: parked?.Body,
          MessageGroupId: parked?.Attributes?.MessageGroupId,
          // The emulator would drop the original id as a repeat; SQS's move task does not.
          MessageDeduplicationId: `redrive-${parked?.MessageId}`,
        }),
      );
      await roomy.client.send(
        new DeleteMessageCommand({ QueueUrl: parkedUrl, ReceiptHandle: parked?.ReceiptHandle }),
      );
      const { response } = await deliverNext(worker.handle, roomy);
      expect(failures(response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(runner.runs).toBe(MAX_ATTEMPTS + 1);
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([
      DEFAULT_TEXTS.failed,
      'answer: worth another go',
    ]);
  });
});

function unusedRunner(): TurnRunner {
  return {
    runTurn: () => Promise.reject(new Error('no turn expected')),
    resetConversation: () => Promise.reject(new Error('no reset expected')),
  };
}

/** The next delivery that finds a message (hidden for a second), as the event source mapping polls. */
async function deliverNext(handle: LambdaWorker['handle'], queue: SqsEmulator = sqs) {
  let delivery: Awaited<ReturnType<SqsEmulator['deliver']>> | undefined;
  await waitUntil(async () => {
    delivery = await queue.deliver(handle, lambdaContext(), { visibilityTimeoutSeconds: 1 });
    return delivery.records.length > 0;
  });
  return delivery as Awaited<ReturnType<SqsEmulator['deliver']>>;
}

async function waitUntil(predicate: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
