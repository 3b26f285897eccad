import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2, SQSBatchResponse } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3WorkspaceStore } from '../../src/adapters/aws/s3-workspace-store.js';
import { workspacePath } from '../../src/core/agent/workspace.js';
import type { ConversationRef } from '../../src/domain/conversation.js';
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
import { type RecordingS3, recordingS3 } from '../support/s3-request-log.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  ScriptedModelServer,
  type ScriptedReply,
  toolResults,
} from '../support/scripted-model-server.js';
import { lambdaContext, type SqsEmulator, startSqsEmulator } from '../support/sqs-emulator.js';

// The conversation's files on the AWS deployment, offline: each turn runs on
// a fresh worker (its own container, an empty /tmp), the real Claude Code
// writes and reads files, and only the S3 emulator keeps them in between.

const WEBHOOK_SECRET = 'workspace-webhook-secret-0123456789';
const ARN = {
  token: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bot-token',
  webhook: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook',
  anthropic: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:anthropic',
};
const NOTES = '# Notes\n\nThe launch code is WALRUS-7.\n';

let aws: AwsEmulators;
let sqs: SqsEmulator;
let api: FakeBotApi;
let s3: RecordingS3;
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

/** True when the request carries tool results after the person's last message: the tool calls are done. */
function afterTools(request: RecordedRequest): boolean {
  const messages = request.body.messages ?? [];
  const hasBlock = (index: number, type: string) => {
    const content = messages[index]?.content;
    return Array.isArray(content) && content.some((block) => block.type === type);
  };
  for (let i = messages.length - 1; i >= 0; i--) {
    if (hasBlock(i, 'tool_result')) return true;
    const isPersonText =
      messages[i]?.role === 'user' &&
      (typeof messages[i]?.content === 'string' || hasBlock(i, 'text'));
    if (isPersonText && !hasBlock(i, 'tool_result')) return false;
  }
  return false;
}

/** The scripted model: one tool call per instruction, then a short answer. */
function respond(request: RecordedRequest): ScriptedReply {
  const text = lastUserText(request);
  const done = afterTools(request);
  if (text.includes('Write my notes')) {
    return done
      ? reply.text('Saved notes.md.')
      : reply.toolUse('Write', { file_path: 'notes.md', content: NOTES });
  }
  if (text.includes('Read my notes')) {
    return done
      ? reply.text('Read notes.md.')
      : reply.toolUse('Read', { file_path: path.join(workspaceDir(101), 'notes.md') });
  }
  if (text.includes('Edit file 17')) {
    return done
      ? reply.text('Changed it.')
      : reply.toolUse('Write', { file_path: 'files/f17.txt', content: 'changed\n' });
  }
  if (text.includes('Write three files')) {
    return done
      ? reply.text('Wrote three files.')
      : reply.toolUses(
          ['one.txt', 'two.txt', 'three.txt'].map((name) => ({
            name: 'Write',
            input: { file_path: name, content: `${name}\n` },
          })),
        );
  }
  return reply.text(`echo: ${text}`);
}

/** DATA_DIR of the emulated Lambda: the same path in every container, as /tmp/agent-data is. */
const dataDir = () => path.join(root, 'lambda-tmp', 'agent-data');
const conversationOf = (chatId: number): ConversationRef => ({
  tenant: 'e2e',
  channel: 'telegram',
  chatId: String(chatId),
});
const workspaceDir = (chatId: number) =>
  workspacePath(path.join(dataDir(), 'workspaces'), conversationOf(chatId));
const exists = (target: string) =>
  access(target).then(
    () => true,
    () => false,
  );

function workerOptions(env: Record<string, string> = {}): WorkerOptions {
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
      SESSION_TTL_DAYS: '25',
      DATA_DIR: dataDir(),
      AGENT_DIR: agentDir,
      ...env,
    },
    secrets,
    dynamo: aws.dynamo,
    s3: s3.client,
    sqs: sqs.client,
    logger: silentLogger,
  };
}

let nextUpdateId = 5000;
async function say(chatId: number, text: string): Promise<void> {
  const response = await ingress({
    version: '2.0',
    routeKey: 'POST /telegram/webhook',
    rawPath: '/telegram/webhook',
    headers: { 'content-type': 'application/json', [SECRET_HEADER]: WEBHOOK_SECRET },
    requestContext: { http: { method: 'POST', sourceIp: '149.154.167.197' } },
    body: JSON.stringify({
      update_id: nextUpdateId++,
      ...textMessageUpdate({ chatId, text, from: { id: chatId, first_name: 'Ada' } }),
    }),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2);
  expect(response.statusCode).toBe(200);
}

/** One message answered by a worker on a cold container: nothing of earlier ones on its disk. */
async function turnOnFreshContainer(
  chatId: number,
  text: string,
  env: Record<string, string> = {},
): Promise<void> {
  await rm(dataDir(), { recursive: true, force: true });
  await say(chatId, text);
  const worker: LambdaWorker = createWorker(workerOptions(env));
  try {
    const { records, response } = await sqs.deliver(worker.handle, lambdaContext());
    expect(records).toHaveLength(1);
    expect(failures(response)).toEqual([]);
  } finally {
    await worker.close();
  }
}

const failures = (response: SQSBatchResponse | undefined) =>
  (response?.batchItemFailures ?? []).map((item) => item.itemIdentifier);

const workspaceStore = () =>
  new S3WorkspaceStore({ client: aws.s3, bucket: aws.bucket, prefix: 'workspaces/' });

beforeAll(async () => {
  [aws, sqs, api] = await Promise.all([
    startAwsEmulators(),
    startSqsEmulator({ maxReceiveCount: 2 }),
    FakeBotApi.start(),
    model.start(),
  ]);
  s3 = recordingS3(aws);
  root = await mkdtemp(path.join(tmpdir(), 'aws-workspace-'));
  agentDir = await writeAgentDir(root, { 'system_prompt.md': 'You are TestBot.' });
  ingress = createIngressHandler({
    env: {
      TABLE_NAME: aws.tableName,
      JOB_QUEUE_URL: sqs.queueUrl,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
      TELEGRAM_WEBHOOK_SECRET_ARN: ARN.webhook,
      TELEGRAM_ALLOWED_USER_IDS: '101,102,103',
      TELEGRAM_API_ROOT: api.apiRoot,
      TENANT: 'e2e',
    },
    secrets,
    dynamo: aws.dynamo,
    sqs: sqs.client,
    logger: silentLogger,
  });
});

afterEach(() => {
  s3.clear();
});

afterAll(async () => {
  s3?.destroy();
  await Promise.all([aws?.stop(), sqs?.stop(), api?.stop(), model.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('AWS workspace', () => {
  it('keeps a file written on one container for the next turn on another', async () => {
    const chatId = 101;
    await turnOnFreshContainer(chatId, 'Write my notes please.');
    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual(['Saved notes.md.']);
    // Saved, then off the container's disk.
    expect(await exists(workspaceDir(chatId))).toBe(false);

    await turnOnFreshContainer(chatId, 'Read my notes please.');

    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual([
      'Saved notes.md.',
      'Read notes.md.',
    ]);
    const afterRead = model.messageRequests.filter(
      (request) => lastUserText(request).includes('Read my notes') && afterTools(request),
    );
    const read = afterRead.flatMap(toolResults).filter((result) => !result.isError);
    expect(read.map((result) => result.text).join('\n')).toContain('The launch code is WALRUS-7.');
  });

  it('uploads one object and the manifest when a turn changes one file of 200', async () => {
    const chatId = 102;
    // A workspace saved by earlier turns: 200 files.
    const seed = path.join(root, 'seed');
    const checkout = await workspaceStore().checkout(conversationOf(chatId), seed);
    for (let i = 0; i < 200; i++) {
      await mkdir(path.join(seed, 'files'), { recursive: true });
      await writeFile(path.join(seed, 'files', `f${i}.txt`), `file ${i}\n`.repeat(50));
    }
    await checkout.save();
    s3.clear();

    await turnOnFreshContainer(chatId, 'Edit file 17 please.');

    expect(api.sentMessages(chatId).map((sent) => sent.text)).toEqual(['Changed it.']);
    const workspaceRequests = s3.requests.filter((request) =>
      request.key?.startsWith('workspaces/'),
    );
    const puts = workspaceRequests.filter((request) => request.command === 'PutObjectCommand');
    expect(puts.map((request) => request.key?.split('/').at(-2))).toEqual([
      'objects',
      expect.any(String),
    ]);
    expect(puts[0]?.sentBytes).toBe('changed\n'.length);
    expect(puts[1]?.key).toMatch(/manifest\.json\.gz$/);

    const fresh = path.join(root, 'check-102');
    await workspaceStore().checkout(conversationOf(chatId), fresh);
    expect(await readFile(path.join(fresh, 'files', 'f17.txt'), 'utf8')).toBe('changed\n');
    expect(await readFile(path.join(fresh, 'files', 'f18.txt'), 'utf8')).toBe(
      'file 18\n'.repeat(50),
    );
  });

  it('tells the person which files passed the limit, and keeps only the others', async () => {
    const chatId = 103;
    await turnOnFreshContainer(chatId, 'Write three files please.', { WORKSPACE_MAX_FILES: '2' });

    const [answer] = api.sentMessages(chatId).map((sent) => sent.text);
    expect(answer).toContain('Wrote three files.');
    expect(answer).toMatch(/could not keep this file .*limit of 2 files.*two\.txt/s);
    const fresh = path.join(root, 'check-103');
    await workspaceStore().checkout(conversationOf(chatId), fresh);
    expect(await exists(path.join(fresh, 'one.txt'))).toBe(true);
    expect(await exists(path.join(fresh, 'three.txt'))).toBe(true);
    expect(await exists(path.join(fresh, 'two.txt'))).toBe(false);
  });
});
