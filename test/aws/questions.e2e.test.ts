import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { callbackQueryUpdate, FakeBotApi, textMessageUpdate } from '../support/fake-bot-api.js';
import { HTTP_TOOL, HttpTestMcpServer } from '../support/mcp/mcp-test-servers.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  requestText,
  ScriptedModelServer,
  type ScriptedReply,
  toolResults,
} from '../support/scripted-model-server.js';
import { lambdaContext, type SqsEmulator, startSqsEmulator } from '../support/sqs-emulator.js';

// Questions and approvals across the AWS deployment, offline: the turn runs
// in the worker handler (fed by the emulated SQS queue) and waits; the
// person's press reaches the ingress handler as a webhook, is recorded in
// (emulated) DynamoDB, and the waiting worker picks it up.

const WEBHOOK_SECRET = 'questions-webhook-secret-0123456789';
const ARN = {
  token: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bot-token',
  webhook: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook',
  anthropic: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:anthropic',
};
const COLOUR = {
  question: 'Which colour should the logo be?',
  header: 'Colour',
  multiSelect: false,
  options: [
    { label: 'Red', description: 'Warm' },
    { label: 'Blue', description: 'Calm' },
  ],
};

let aws: AwsEmulators;
let sqs: SqsEmulator;
let api: FakeBotApi;
let http: HttpTestMcpServer;
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

function respond(request: RecordedRequest): ScriptedReply {
  const last = toolResults(request).at(-1);
  if (last) return reply.text(`tool said: ${last.isError ? 'ERROR ' : ''}${last.text}`);
  const text = lastUserText(request);
  if (text.includes('pick a colour'))
    return reply.toolUse('AskUserQuestion', { questions: [COLOUR] });
  if (text.includes('look something up')) {
    return reply.toolUse(`mcp__dir__${HTTP_TOOL}`, { key: 'alpha' });
  }
  return reply.text(`echo: ${text}`);
}

function workerOptions(overrides: Partial<WorkerOptions> = {}): WorkerOptions {
  return {
    env: {
      TABLE_NAME: aws.tableName,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      ANTHROPIC_API_KEY_SECRET_ARN: ARN.anthropic,
      ANTHROPIC_BASE_URL: model.url,
      JOB_MAX_ATTEMPTS: '2',
      JOB_QUEUE_URL: sqs.queueUrl,
      TELEGRAM_API_ROOT: api.apiRoot,
      DATA_DIR: path.join(root, 'lambda-tmp', 'agent-data'),
      AGENT_DIR: agentDir,
    },
    secrets,
    dynamo: aws.dynamo,
    sqs: sqs.client,
    logger: silentLogger,
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
const say = (chatId: number, text: string) =>
  post({
    update_id: nextUpdateId++,
    ...textMessageUpdate({ chatId, text, from: { id: chatId, first_name: 'Ada' } }),
  });

/** The person presses `label` on the chat's question, through the ingress; the callback query's id. */
async function press(chatId: number, label: string): Promise<string> {
  await api.waitFor(() => api.messageWithButtons(chatId) !== undefined, 30_000, 'a question');
  const question = api.messageWithButtons(chatId);
  const button = api
    .keyboardOf(chatId, question?.messageId ?? 0)
    .flat()
    .find((candidate) => candidate.text === label);
  const update = callbackQueryUpdate({
    chatId,
    messageId: question?.messageId ?? 0,
    data: button?.callback_data ?? '',
    botId: api.botId,
    from: { id: chatId },
    updateId: nextUpdateId++,
  });
  expect((await post(update)).statusCode).toBe(200);
  return update.callback_query.id;
}

const answers = (chatId: number) =>
  api
    .sentMessages(chatId)
    .map((message) => message.text)
    .filter((text) => text.startsWith('tool said:'));

beforeAll(async () => {
  [aws, sqs, api, http] = await Promise.all([
    startAwsEmulators(),
    startSqsEmulator({ maxReceiveCount: 2 }),
    FakeBotApi.start(),
    new HttpTestMcpServer().start(),
    model.start(),
  ]);
  root = await mkdtemp(path.join(tmpdir(), 'aws-questions-'));
  agentDir = await writeAgentDir(root, {
    'system_prompt.md': 'You are TestBot.',
    'mcp.json': JSON.stringify({ mcpServers: { dir: { type: 'http', url: http.url } } }),
    'policy.json': JSON.stringify({ tools: { mcp: { [`mcp__dir__${HTTP_TOOL}`]: 'ask' } } }),
  });
  ingress = createIngressHandler({
    env: {
      TABLE_NAME: aws.tableName,
      JOB_QUEUE_URL: sqs.queueUrl,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      TELEGRAM_WEBHOOK_SECRET_ARN: ARN.webhook,
      TELEGRAM_ALLOWED_USER_IDS: '301,302,303,304',
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
  await Promise.all([aws?.stop(), sqs?.stop(), api?.stop(), http?.stop(), model.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('questions across the ingress and worker Lambdas', () => {
  it('carries a button press from the ingress to the turn waiting in the worker', async () => {
    const chatId = 301;
    const worker = createWorker(workerOptions());
    try {
      expect((await say(chatId, 'Please pick a colour')).statusCode).toBe(200);
      const running = sqs.deliver(worker.handle, lambdaContext());
      const callback = await press(chatId, 'Blue');
      expect(api.callbackAnswer(callback)).toBe(texts.questions.pressChosen);
      const { response } = await running;
      expect(response?.batchItemFailures ?? []).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(answers(chatId)).toEqual([
      'tool said: Your questions have been answered: "Which colour should the logo be?"="Blue". You can now continue with these answers in mind.',
    ]);
    // The question shows the answer.
    const question = api.sentMessages(chatId).find((message) => message.text.includes('→ Blue'));
    expect(question).toBeDefined();
  });

  it('takes a typed answer at the ingress, with nothing queued for it', async () => {
    const chatId = 304;
    const worker = createWorker(workerOptions());
    try {
      await say(chatId, 'Please pick a colour');
      const running = sqs.deliver(worker.handle, lambdaContext());
      await api.waitFor(() => api.messageWithButtons(chatId) !== undefined, 30_000, 'a question');
      expect((await say(chatId, 'Green, like grass')).statusCode).toBe(200);
      await running;
    } finally {
      await worker.close();
    }
    expect(answers(chatId)[0]).toContain('"Which colour should the logo be?"="Green, like grass"');
    // The typed answer was the question's answer, not a message for another turn.
    const { records } = await sqs.deliver(async () => ({ batchItemFailures: [] }), lambdaContext());
    expect(records).toEqual([]);
  });

  it('carries an approval (Allow once) the same way, and the tool runs', async () => {
    const chatId = 302;
    const callsBefore = http.calls.length;
    const worker = createWorker(workerOptions());
    try {
      await say(chatId, 'Please look something up');
      const running = sqs.deliver(worker.handle, lambdaContext());
      await press(chatId, texts.questions.allowOnce);
      await running;
    } finally {
      await worker.close();
    }
    expect(answers(chatId)[0]).toContain('HTTP-MCP-REPLY: value of alpha');
    expect(http.calls.length - callsBefore).toBe(1);
  });

  it('ends a question still unanswered near the deadline, and the turn ends in time', async () => {
    const chatId = 303;
    const worker = createWorker(workerOptions({ deadlineMarginMs: 2_000, minTurnMs: 1_000 }));
    try {
      await say(chatId, 'Please pick a colour');
      // Ten seconds in the invocation: the question stops waiting well before the end.
      const { response } = await sqs.deliver(worker.handle, lambdaContext(10_000));
      expect(response?.batchItemFailures ?? []).toEqual([]);
    } finally {
      await worker.close();
    }
    const shown = api.sentMessages(chatId).map((message) => message.text);
    expect(shown.some((text) => text.includes('(No answer.)'))).toBe(true);
    expect(api.messageWithButtons(chatId)).toBeUndefined();

    // The agent was told why (the session kept it): what a later run of the conversation sees.
    const later = createWorker(workerOptions());
    try {
      await say(chatId, 'And now?');
      for (let run = 0; run < 3; run++) {
        const { records } = await sqs.deliver(later.handle, lambdaContext());
        if (records.length === 0) break;
      }
    } finally {
      await later.close();
    }
    const seen = model.messageRequests.filter((request) =>
      requestText(request).includes('Please pick a colour'),
    );
    expect(
      seen.some((request) => requestText(request).includes(texts.questions.noAnswerDeadline)),
    ).toBe(true);
  });
});
