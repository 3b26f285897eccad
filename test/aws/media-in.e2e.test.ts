import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2, SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { writeAgentDir } from '../support/agent-fixture.js';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.js';
import { FakeBotApi, textMessageUpdate } from '../support/fake-bot-api.js';
import { FakeTranscriptionServer } from '../support/fake-transcription-server.js';
import { documentUpdate, photoUpdate, TINY_JPEG, voiceUpdate } from '../support/media-updates.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  ScriptedModelServer,
  toolResults,
} from '../support/scripted-model-server.js';
import { lambdaContext, type SqsEmulator, startSqsEmulator } from '../support/sqs-emulator.js';

// Files a person sends, on the AWS deployment, offline: the ingress Lambda
// queues only the files' ids; the worker Lambda downloads them from the
// (fake) Bot API, transcribes voice with a key it reads from Secrets Manager
// (a fake secret source), and the real agent gets them in its workspace.

const WEBHOOK_SECRET = 'media-webhook-secret-0123456789';
const ARN = {
  token: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bot-token',
  webhook: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook',
  anthropic: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:anthropic',
  transcription: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:transcription',
};
const CHAT = { document: 301, voice: 302, album: 303 };

let aws: AwsEmulators;
let sqs: SqsEmulator;
let api: FakeBotApi;
let transcription: FakeTranscriptionServer;
let root = '';
let agentDir = '';
let ingress: IngressHandler;
let worker: LambdaWorker;
const model = new ScriptedModelServer({ fallback: respond });
const secrets: SecretSource = {
  async get(arn) {
    if (arn === ARN.token) return api.token;
    if (arn === ARN.webhook) return WEBHOOK_SECRET;
    if (arn === ARN.anthropic) return 'sk-test-upstream-key';
    if (arn === ARN.transcription) return transcription.apiKey;
    throw new Error(`no secret ${arn}`);
  },
};

function respond(request: RecordedRequest) {
  const text = lastUserText(request);
  if (text.includes('read the notes')) {
    const results = toolResults(request);
    if (!endsWithToolResult(request)) {
      return reply.toolUse('Read', { file_path: path.join(cwdOf(request), 'inbox', 'notes.md') });
    }
    return reply.text(`Read: ${results.at(-1)?.text.includes('TANGERINE') ? 'TANGERINE' : '?'}`);
  }
  return reply.text(`echo: ${text.split('\n')[0]}`);
}

/** Whether a tool's result came back after the person's latest message (this turn's Read). */
function endsWithToolResult(request: RecordedRequest): boolean {
  const messages = request.body.messages ?? [];
  let asked = -1;
  messages.forEach((message, index) => {
    if (JSON.stringify(message.content).includes('read the notes')) asked = index;
  });
  return messages
    .slice(asked + 1)
    .some(
      (message) =>
        Array.isArray(message.content) &&
        message.content.some((block) => block.type === 'tool_result'),
    );
}

/** The turn's working directory, as Claude Code states it in its system prompt. */
function cwdOf(request: RecordedRequest): string {
  const match = /Primary working directory: (\S+)|Working directory: (\S+)/.exec(
    JSON.stringify(request.body.system).replaceAll('\\n', '\n'),
  );
  return (match?.[1] ?? match?.[2] ?? '').trim();
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
      JOB_MAX_ATTEMPTS: '2',
      JOB_QUEUE_URL: sqs.queueUrl,
      TELEGRAM_API_ROOT: api.apiRoot,
      DATA_DIR: dataDir(),
      AGENT_DIR: agentDir,
      TRANSCRIPTION_URL: transcription.url,
      TRANSCRIPTION_MODEL: 'whisper-aws',
      TRANSCRIPTION_API_KEY_SECRET_ARN: ARN.transcription,
    },
    secrets,
    dynamo: aws.dynamo,
    s3: aws.s3,
    sqs: sqs.client,
    logger: silentLogger,
  };
}

let nextUpdateId = 5000;
function post(update: Record<string, unknown>): ReturnType<IngressHandler> {
  return ingress({
    version: '2.0',
    routeKey: 'POST /telegram/webhook',
    rawPath: '/telegram/webhook',
    headers: { 'content-type': 'application/json', [SECRET_HEADER]: WEBHOOK_SECRET },
    requestContext: { http: { method: 'POST', sourceIp: '149.154.167.197' } },
    body: JSON.stringify({ update_id: nextUpdateId++, ...update }),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2);
}

const textUpdate = (chatId: number, text: string) =>
  textMessageUpdate({ chatId, text, from: { id: chatId, first_name: 'Ada' } });

const failures = (response: SQSBatchResponse | undefined) =>
  (response?.batchItemFailures ?? []).map((item) => item.itemIdentifier);

const answers = (chatId: number) =>
  api
    .sentMessages(chatId)
    .map((message) => message.text)
    .filter((text) => !text.startsWith('Working on it'));

beforeAll(async () => {
  [aws, sqs, api, transcription] = await Promise.all([
    startAwsEmulators(),
    startSqsEmulator({ maxReceiveCount: 2 }),
    FakeBotApi.start(),
    FakeTranscriptionServer.start(),
    model.start(),
  ]);
  root = await mkdtemp(path.join(tmpdir(), 'aws-media-'));
  agentDir = await writeAgentDir(root, { 'system_prompt.md': 'You are TestBot.' });
  ingress = createIngressHandler({
    env: {
      TABLE_NAME: aws.tableName,
      JOB_QUEUE_URL: sqs.queueUrl,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      TELEGRAM_WEBHOOK_SECRET_ARN: ARN.webhook,
      TELEGRAM_ALLOWED_USER_IDS: Object.values(CHAT).join(','),
      TELEGRAM_API_ROOT: api.apiRoot,
      TENANT: 'e2e',
    },
    secrets,
    dynamo: aws.dynamo,
    sqs: sqs.client,
    logger: silentLogger,
  });
  worker = createWorker(workerOptions());
});

afterAll(async () => {
  await worker?.close();
  await Promise.all([aws?.stop(), sqs?.stop(), api?.stop(), transcription?.stop(), model.stop()]);
  await rm(root, { recursive: true, force: true });
});

describe('files a person sends (AWS)', () => {
  it('the worker downloads a document into the workspace, and the agent reads it', async () => {
    const chatId = CHAT.document;
    api.addFile('aws-doc', '# Notes\nThe code word is TANGERINE.', { filePath: 'documents/n.md' });
    const from = { id: chatId, first_name: 'Ada' };
    const file = { fileId: 'aws-doc', fileName: 'notes.md', mimeType: 'text/markdown' };
    expect(
      (await post(documentUpdate({ chatId, from, caption: 'please read the notes', file })))
        .statusCode,
    ).toBe(200);
    // Ingress queued the file's id only; nothing was fetched before the worker ran.
    expect(api.callsTo('getFile')).toHaveLength(0);
    const { records, response } = await sqs.deliver(worker.handle, lambdaContext());
    expect(records).toHaveLength(1);
    expect(failures(response)).toEqual([]);
    expect(answers(chatId)).toEqual(['Read: TANGERINE']);
    const [, second] = model.messageRequests.filter((request) =>
      lastUserText(request).includes('please read the notes'),
    );
    expect(toolResults(second as RecordedRequest).at(-1)?.text).toContain(
      'The code word is TANGERINE.',
    );
    // The download left nothing behind in the container's /tmp.
    expect(
      readdirSync(path.join(dataDir(), 'tmp')).filter((name) => name.startsWith('agent-media-')),
    ).toEqual([]);

    // The file was saved with the workspace: a fresh container (empty /tmp) reads it again.
    await worker.close();
    await rm(dataDir(), { recursive: true, force: true });
    worker = createWorker(workerOptions());
    const again = { update_id: nextUpdateId++, ...textUpdate(chatId, 'read the notes again') };
    await post(again);
    const next = await sqs.deliver(worker.handle, lambdaContext());
    expect(failures(next.response)).toEqual([]);
    expect(answers(chatId)).toEqual(['Read: TANGERINE', 'Read: TANGERINE']);
    const reread = model.messageRequests.filter((request) =>
      lastUserText(request).includes('read the notes again'),
    );
    expect(toolResults(reread.at(-1) as RecordedRequest).at(-1)?.text).toContain(
      'The code word is TANGERINE.',
    );
  });

  it('transcribes a voice message with the key from Secrets Manager', async () => {
    const chatId = CHAT.voice;
    transcription.transcript = () => 'what is the weather on Lambda';
    api.addFile('aws-voice', 'OggS voice bytes', { filePath: 'voice/v.oga' });
    await post(voiceUpdate({ chatId, from: { id: chatId }, file: { fileId: 'aws-voice' } }));
    const { response } = await sqs.deliver(worker.handle, lambdaContext());
    expect(failures(response)).toEqual([]);
    expect(answers(chatId)).toEqual([
      'echo: [voice message, transcribed] what is the weather on Lambda',
    ]);
    expect(transcription.requests.at(-1)).toMatchObject({
      authorization: `Bearer ${transcription.apiKey}`,
      model: 'whisper-aws',
    });
  });

  it('answers an album delivered in one batch with one turn', async () => {
    const chatId = CHAT.album;
    const jpeg = TINY_JPEG;
    api.addFile('aws-a', jpeg, { filePath: 'photos/aws-a.jpg' });
    api.addFile('aws-b', Buffer.concat([jpeg, Buffer.from([1])]), { filePath: 'photos/aws-b.jpg' });
    const album = { chatId, from: { id: chatId }, mediaGroupId: 'aws-album' };
    await post(photoUpdate({ ...album, caption: 'two views', file: { fileId: 'aws-a' } }));
    await post(photoUpdate({ ...album, file: { fileId: 'aws-b' } }));
    const { records, response } = await sqs.deliver(worker.handle, lambdaContext());
    expect(records).toHaveLength(2);
    expect(failures(response)).toEqual([]);
    expect(answers(chatId)).toEqual(['echo: two views']);
    const turns = model.messageRequests.filter((request) =>
      lastUserText(request).startsWith('two views'),
    );
    expect(turns).toHaveLength(1);
    expect(lastUserText(turns[0] as RecordedRequest)).toMatch(
      /inbox\/photo-u-aws-a\.jpg.*\n.*inbox\/photo-u-aws-b\.jpg/,
    );
  });
});
