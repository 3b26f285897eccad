import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2, SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTurnControl } from '../../src/adapters/aws/dynamo-turn-control.js';
import { parseJobPayload } from '../../src/adapters/aws/sqs-job-sink.js';
import {
  createIngressHandler,
  type IngressHandler,
  SECRET_HEADER,
} from '../../src/entrypoints/aws/ingress-handler.js';
import { createWorker, type WorkerOptions } from '../../src/entrypoints/aws/worker-handler.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { SecretSource } from '../../src/ports/secret-source.js';
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

// AWS behaving as the local server does, offline, on the whole path (API
// Gateway event -> ingress handler -> SQS FIFO (emulated) -> worker handler
// -> the real agent (Claude Code) against a scripted model -> Telegram (fake
// Bot API)): messages that wait while a turn runs are answered by one turn;
// control messages are answered without a worker; a task longer than one
// invocation goes on in the next and is answered once.

const WEBHOOK_SECRET = 'parity-webhook-secret-0123456789';
const ARN = {
  token: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bot-token',
  webhook: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook',
  anthropic: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:anthropic',
};

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
  if (text.includes(texts.continueInstruction)) return reply.text('The long job is finished.');
  if (text.includes('long job')) return reply.text('far too late', { delayMs: 30_000 });
  if (text.includes('slow task')) return reply.text('Slow task done.', { delayMs: 2_500 });
  if (text.includes('second one')) return reply.text('All three answered.');
  return reply.text(`echo: ${text}`);
}

const dataDir = () => path.join(root, 'lambda-tmp', 'agent-data');

function workerOptions(overrides: Partial<WorkerOptions> = {}): WorkerOptions {
  return {
    env: {
      TABLE_NAME: aws.tableName,
      TRANSCRIPT_BUCKET: aws.bucket,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      ANTHROPIC_API_KEY_SECRET_ARN: ARN.anthropic,
      ANTHROPIC_BASE_URL: model.url,
      JOB_MAX_ATTEMPTS: '2',
      JOB_QUEUE_URL: sqs.queueUrl,
      TELEGRAM_API_ROOT: api.apiRoot,
      DATA_DIR: dataDir(),
      AGENT_DIR: agentDir,
    },
    secrets,
    dynamo: aws.dynamo,
    s3: aws.s3,
    sqs: sqs.client,
    logger: silentLogger,
    // A status message would be one more message in the chat; these tests count answers.
    progress: false,
    ...overrides,
  };
}

function post(update: Record<string, unknown>): ReturnType<IngressHandler> {
  return ingress({
    version: '2.0',
    routeKey: 'POST /telegram/webhook',
    rawPath: '/telegram/webhook',
    headers: { 'content-type': 'application/json', [SECRET_HEADER]: WEBHOOK_SECRET },
    requestContext: { http: { method: 'POST', sourceIp: '149.154.167.197' } },
    body: JSON.stringify(update),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2);
}

let nextUpdateId = 5000;
function message(chatId: number, text: string): Record<string, unknown> {
  return {
    update_id: nextUpdateId++,
    ...textMessageUpdate({ chatId, text, from: { id: chatId, first_name: 'Ada' } }),
  };
}

const failures = (response: SQSBatchResponse | undefined) =>
  (response?.batchItemFailures ?? []).map((item) => item.itemIdentifier);
const answers = (chatId: number) => api.sentMessages(chatId).map((sent) => sent.text);
const turnsOf = () => new DynamoTurnControl({ client: aws.dynamo, tableName: aws.tableName });
const requestsWith = (fragment: string) =>
  model.messageRequests.filter((request) => lastUserText(request).includes(fragment));

beforeAll(async () => {
  [aws, sqs, api] = await Promise.all([
    startAwsEmulators(),
    startSqsEmulator({ maxReceiveCount: 12 }),
    FakeBotApi.start(),
    model.start(),
  ]);
  root = await mkdtemp(path.join(tmpdir(), 'aws-parity-'));
  agentDir = await writeAgentDir(root, { 'system_prompt.md': 'You are TestBot.' });
  ingress = createIngressHandler({
    env: {
      TABLE_NAME: aws.tableName,
      JOB_QUEUE_URL: sqs.queueUrl,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      TELEGRAM_WEBHOOK_SECRET_ARN: ARN.webhook,
      TELEGRAM_ALLOWED_USER_IDS: '201,202,203',
      TELEGRAM_API_ROOT: api.apiRoot,
      TENANT: 'parity',
    },
    secrets,
    dynamo: aws.dynamo,
    sqs: sqs.client,
    logger: silentLogger,
  });
});

afterAll(async () => {
  await Promise.all([aws?.stop(), sqs?.stop(), api?.stop(), model.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('AWS pipeline, as the local server behaves', () => {
  it('answers three messages sent while a turn runs with one next turn, in order, each once', async () => {
    const chatId = 201;
    const worker = createWorker(workerOptions());
    try {
      await post(message(chatId, 'Please do this slow task.'));
      const first = sqs.deliver(worker.handle, lambdaContext());
      await waitUntil(async () => (await turnsOf().runningSince('parity:telegram:201:-')) !== null);
      for (const text of ['second one', 'third one', 'fourth one']) {
        expect((await post(message(chatId, text))).statusCode).toBe(200);
      }
      const running = await first;
      expect(running.records).toHaveLength(1);
      expect(failures(running.response)).toEqual([]);

      // Invisible while the first ran; now the event source hands them over together.
      const next = await sqs.deliver(worker.handle, lambdaContext());
      expect(next.records.map((record) => parseJobPayload(record.body).message.body)).toEqual([
        { kind: 'text', text: 'second one' },
        { kind: 'text', text: 'third one' },
        { kind: 'text', text: 'fourth one' },
      ]);
      expect(failures(next.response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(answers(chatId)).toEqual(['Slow task done.', 'All three answered.']);
    // One turn saw the three, in order, once each.
    const combined = requestsWith('second one');
    expect(combined).toHaveLength(1);
    expect(lastUserText(combined[0] as RecordedRequest)).toBe(
      'second one\n\nthird one\n\nfourth one',
    );
    expect(requestsWith('third one')).toHaveLength(1);
    expect(await sqs.receiveRecords()).toEqual([]);
  });

  it('answers /status while every worker is busy, without a worker or a turn', async () => {
    const chatId = 202;
    const worker = createWorker(workerOptions());
    let turnOver = false;
    try {
      await post(message(chatId, 'Another slow task, please.'));
      const busy = sqs.deliver(worker.handle, lambdaContext()).finally(() => {
        turnOver = true;
      });
      await waitUntil(async () => (await turnsOf().runningSince('parity:telegram:202:-')) !== null);

      expect((await post(message(chatId, '/status'))).statusCode).toBe(200);
      // Answered by the ingress itself, while the only worker is still in its turn.
      expect(turnOver).toBe(false);
      expect(answers(chatId)).toEqual([expect.stringContaining('Working: yes')]);
      // Nothing waits in the queue for a worker.
      expect(await sqs.receiveRecords()).toEqual([]);

      const { records, response } = await busy;
      expect(records).toHaveLength(1);
      expect(failures(response)).toEqual([]);
      // No turn for it: the model never heard of it.
      expect(requestsWith('/status')).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(answers(chatId)).toEqual([expect.stringContaining('Working: yes'), 'Slow task done.']);
  });

  it('continues a turn that reaches the deadline in a second invocation, and answers once', async () => {
    const chatId = 203;
    const worker = createWorker(workerOptions({ deadlineMarginMs: 3_000, minTurnMs: 1_000 }));
    try {
      await post(message(chatId, 'Start the long job.'));
      // Seven seconds left in the invocation: the run gets four.
      const cut = await sqs.deliver(worker.handle, lambdaContext(7_000));
      expect(failures(cut.response)).toEqual([]);
      // Told once that it goes on; not that it stopped.
      expect(answers(chatId)).toEqual([texts.stillWorking]);

      const resumed = await sqs.deliver(worker.handle, lambdaContext());
      expect(resumed.records).toHaveLength(1);
      const continuation = parseJobPayload(resumed.records[0]?.body ?? '').message;
      expect(continuation.continuation).toMatchObject({ n: 1 });
      expect(resumed.records[0]?.attributes.MessageGroupId).toBe('parity:telegram:203:-');
      expect(failures(resumed.response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(answers(chatId)).toEqual([texts.stillWorking, 'The long job is finished.']);
    // The second run resumed the session: the model saw the task it continues.
    const second = requestsWith(texts.continueInstruction);
    expect(second).toHaveLength(1);
    expect(requestText(second[0] as RecordedRequest)).toContain('Start the long job.');
    expect(await sqs.receiveRecords()).toEqual([]);
    expect(await turnsOf().runningSince('parity:telegram:203:-')).toBeNull();
  });
});

async function waitUntil(predicate: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
