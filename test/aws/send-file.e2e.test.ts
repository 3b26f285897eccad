import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2, SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEND_FILE_TOOL_NAME } from '../../src/domain/outgoing-file.js';
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
import { texts } from '../../src/texts/en.js';
import { writeAgentDir } from '../support/agent-fixture.js';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.js';
import { FakeBotApi, textMessageUpdate } from '../support/fake-bot-api.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  ScriptedModelServer,
  toolResults,
} from '../support/scripted-model-server.js';
import { lambdaContext, type SqsEmulator, startSqsEmulator } from '../support/sqs-emulator.js';

// Files out on the AWS deployment: the worker Lambda's agent writes a file
// and sends it; the staged copy lives in the container's /tmp (DATA_DIR),
// so an answer redelivered on another container tells the person the file
// was lost instead of failing.

const WEBHOOK_SECRET = 'send-file-webhook-secret-0123456789';
const ARN = {
  token: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bot-token',
  webhook: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook',
  anthropic: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:anthropic',
};
const MAX_ATTEMPTS = 3;
const CHART = 'PNG chart bytes';

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
  const results = toolResults(request);
  if (lastUserText(request).includes('chart')) {
    if (results.length === 0)
      return reply.toolUse('Write', { file_path: 'chart.png', content: CHART });
    if (results.length === 1) return reply.toolUse(SEND_FILE_TOOL_NAME, { path: 'chart.png' });
    return reply.text('Here is the chart.');
  }
  return reply.text(`echo: ${lastUserText(request)}`);
}

const dataDir = () => path.join(root, 'lambda-tmp', 'agent-data');

function workerOptions(): WorkerOptions {
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
      DATA_DIR: dataDir(),
      AGENT_DIR: agentDir,
    },
    secrets,
    dynamo: aws.dynamo,
    s3: aws.s3,
    sqs: sqs.client,
    logger: silentLogger,
    retryDelaySeconds: () => 0,
  };
}

let nextUpdateId = 5000;
function post(chatId: number, text: string): ReturnType<IngressHandler> {
  const update = {
    update_id: nextUpdateId++,
    ...textMessageUpdate({ chatId, text, from: { id: chatId, first_name: 'Ada' } }),
  };
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

const failures = (response: SQSBatchResponse | undefined) =>
  (response?.batchItemFailures ?? []).map((item) => item.itemIdentifier);

/**
 * Delivers the next queue message. Hidden for `visibilitySeconds`: long
 * enough for a turn that succeeds (its delete must come first), a second
 * for one meant to come back.
 */
async function deliverNext(handle: LambdaWorker['handle'], visibilitySeconds = 60) {
  const until = Date.now() + 20_000;
  for (;;) {
    const delivery = await sqs.deliver(handle, lambdaContext(), {
      visibilityTimeoutSeconds: visibilitySeconds,
    });
    if (delivery.records.length > 0) return delivery;
    if (Date.now() > until) throw new Error('timed out waiting for a queue message');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stagedFiles(): Promise<string[]> {
  const entries = await readdir(path.join(dataDir(), 'outgoing-files'), {
    recursive: true,
    withFileTypes: true,
  }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

beforeAll(async () => {
  [aws, sqs, api] = await Promise.all([
    startAwsEmulators(),
    startSqsEmulator({ maxReceiveCount: MAX_ATTEMPTS }),
    FakeBotApi.start(),
    model.start(),
  ]);
  root = await mkdtemp(path.join(tmpdir(), 'aws-send-file-'));
  agentDir = await writeAgentDir(root, { 'system_prompt.md': 'You are TestBot.' });
  ingress = createIngressHandler({
    env: {
      TABLE_NAME: aws.tableName,
      JOB_QUEUE_URL: sqs.queueUrl,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      TELEGRAM_WEBHOOK_SECRET_ARN: ARN.webhook,
      TELEGRAM_ALLOWED_USER_IDS: '301,302',
      TELEGRAM_API_ROOT: api.apiRoot,
      TENANT: 'e2e',
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

describe('AWS: files the agent sends', () => {
  it('the worker Lambda sends the file after the answer and leaves no staged copy', async () => {
    const chatId = 301;
    const worker = createWorker(workerOptions());
    try {
      expect((await post(chatId, 'draw the chart')).statusCode).toBe(200);
      const { records, response } = await deliverNext(worker.handle);
      expect(records).toHaveLength(1);
      expect(failures(response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual(['Here is the chart.']);
    const files = api.sentFiles(chatId);
    expect(files.map((file) => [file.method, file.filename])).toEqual([['sendPhoto', 'chart.png']]);
    expect(files[0]?.data.toString()).toBe(CHART);
    expect(await stagedFiles()).toEqual([]);
  });

  it('a redelivery on another container, whose /tmp never had the file, says it was lost and settles', async () => {
    const chatId = 302;
    // Telegram fails the upload on the first receive (every bounded retry of it).
    api.failNext('sendPhoto', { error_code: 500, description: 'Internal Server Error' }, 4);
    const first = createWorker(workerOptions());
    try {
      await post(chatId, 'draw the chart again');
      const { records, response } = await deliverNext(first.handle, 1);
      expect(failures(response)).toEqual(records.map((record) => record.messageId));
    } finally {
      await first.close();
    }
    // The answer's text went and was ticked off; the file waits in this container's /tmp.
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual(['Here is the chart.']);
    expect(await stagedFiles()).toHaveLength(1);
    const turns = model.messageRequests.length;

    // A cold container: nothing on local disk.
    await rm(dataDir(), { recursive: true, force: true });
    const second = createWorker(workerOptions());
    try {
      const { response } = await deliverNext(second.handle);
      expect(failures(response)).toEqual([]);
    } finally {
      await second.close();
    }
    expect(model.messageRequests.length).toBe(turns);
    expect(api.sentFiles(chatId)).toEqual([]);
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([
      'Here is the chart.',
      texts.fileNotDelivered('chart.png'),
    ]);
  });
});
