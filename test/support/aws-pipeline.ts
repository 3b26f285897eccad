import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2, SQSBatchResponse } from 'aws-lambda';
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
import { writeAgentDir } from './agent-fixture.js';
import { type AwsEmulators, startAwsEmulators } from './aws-emulators.js';
import { FakeBotApi, textMessageUpdate } from './fake-bot-api.js';
import { type ReplyStep, ScriptedModelServer } from './scripted-model-server.js';
import { lambdaContext, type SqsEmulator, startSqsEmulator } from './sqs-emulator.js';

/**
 * The AWS deployment's whole path for end-to-end tests, offline: API Gateway
 * events into the real ingress handler, the emulated SQS FIFO queue, worker
 * handlers fed exactly the records a receive got, the real agent (Claude
 * Code) against a scripted model, Telegram as the fake Bot API, and storage
 * in emulated DynamoDB and S3. Secrets come from a fake Secrets Manager.
 */

/** A fake Secrets Manager ARN. */
export const secretArn = (name: string) =>
  `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}`;

const ARN = {
  token: secretArn('bot-token'),
  webhook: secretArn('webhook'),
  anthropic: secretArn('anthropic'),
};

export interface AwsPipelineOptions {
  /** Names the temp directory and the webhook secret. */
  name: string;
  /** The model's reply to each request. */
  respond: ReplyStep;
  /** TELEGRAM_ALLOWED_USER_IDS of the ingress. */
  allowedUserIds: string;
  tenant?: string;
  /** JOB_MAX_ATTEMPTS (default 2). */
  maxAttempts?: number;
  /** The queue's receives before it dead-letters (default: `maxAttempts`). */
  maxReceiveCount?: number;
  /** Files of the agent directory besides the system prompt. */
  agentFiles?: Record<string, string>;
  /** More secrets by ARN, read when a handler asks. */
  secrets?: Record<string, () => string>;
  /** Without the S3 bucket: transcripts in DynamoDB only, workspaces kept for one turn. */
  withoutBucket?: boolean;
  /** What every worker of these tests gets (env merged over the defaults). */
  worker?: WorkerOverrides;
}

/** Worker options over the defaults: `env` is merged, `queue` feeds another queue. */
type WorkerOverrides = Partial<Omit<WorkerOptions, 'env'>> & {
  env?: Record<string, string>;
  queue?: SqsEmulator;
};

type Delivery = Awaited<ReturnType<SqsEmulator['deliver']>>;

export interface AwsPipeline {
  aws: AwsEmulators;
  sqs: SqsEmulator;
  /** The fake Bot API: what the bot sent (`calls`, `sentMessages`, ...). */
  api: FakeBotApi;
  model: ScriptedModelServer;
  root: string;
  agentDir: string;
  /** DATA_DIR of the emulated Lambda: the same path in every container, as /tmp/agent-data is. */
  dataDir: string;
  /** The DynamoDB table, as the Dynamo adapters take it. */
  table: { client: AwsEmulators['dynamo']; tableName: string };
  ingress: IngressHandler;
  secrets: SecretSource;
  /** A fresh update_id. */
  nextUpdateId(): number;
  /** Posts an update to the webhook (the ingress, or `via`); an update_id is added unless it has one. */
  sendUpdate(update: Record<string, unknown>, via?: IngressHandler): ReturnType<IngressHandler>;
  /** Posts a text message from the chat's own person (Ada). */
  sendText(chatId: number, text: string, via?: IngressHandler): ReturnType<IngressHandler>;
  /** Another ingress handler: another allowlist, or in front of another queue. */
  ingressFor(allowedUserIds: string, queue?: SqsEmulator): IngressHandler;
  workerOptions(overrides?: WorkerOverrides): WorkerOptions;
  worker(overrides?: WorkerOverrides): LambdaWorker;
  /** A worker for `run`, closed after it whatever happens. */
  withWorker<T>(run: (worker: LambdaWorker) => Promise<T>, overrides?: WorkerOverrides): Promise<T>;
  /** One receive handed to the worker, as the event source mapping does, with `remainingMs` left. */
  deliver(worker: LambdaWorker, remainingMs?: number): Promise<Delivery>;
  /** The next receive that finds a message, hidden for `visibilitySeconds` (default 1). */
  deliverNext(
    worker: LambdaWorker,
    options?: { queue?: SqsEmulator; visibilitySeconds?: number },
  ): Promise<Delivery>;
  /** A cold container: nothing on the Lambda's local disk. */
  emptyLocalDisk(): Promise<void>;
  /** The texts of the messages sent to the chat. */
  sentTexts(chatId: number): string[];
  close(): Promise<void>;
}

/** The ids of the records a worker reported as failed. */
export const failures = (response: SQSBatchResponse | undefined) =>
  (response?.batchItemFailures ?? []).map((item) => item.itemIdentifier);

export async function waitUntil(
  predicate: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startAwsPipeline(options: AwsPipelineOptions): Promise<AwsPipeline> {
  const maxAttempts = options.maxAttempts ?? 2;
  const webhookSecret = `${options.name}-webhook-secret-0123456789`;
  const tenant = options.tenant ?? 'e2e';
  const model = new ScriptedModelServer({ fallback: options.respond });
  const [aws, sqs, api] = await Promise.all([
    startAwsEmulators(),
    startSqsEmulator({ maxReceiveCount: options.maxReceiveCount ?? maxAttempts }),
    FakeBotApi.start(),
    model.start(),
  ]);
  const root = await mkdtemp(path.join(tmpdir(), `aws-${options.name}-`));
  const agentDir = await writeAgentDir(root, {
    'system_prompt.md': 'You are TestBot.',
    ...options.agentFiles,
  });
  const dataDir = path.join(root, 'lambda-tmp', 'agent-data');
  const extraSecrets = options.secrets ?? {};
  const secrets: SecretSource = {
    async get(arn) {
      if (arn === ARN.token) return api.token;
      if (arn === ARN.webhook) return webhookSecret;
      if (arn === ARN.anthropic) return 'sk-test-upstream-key';
      const extra = extraSecrets[arn];
      if (extra) return extra();
      throw new Error(`no secret ${arn}`);
    },
  };

  const ingressFor = (allowedUserIds: string, queue: SqsEmulator = sqs): IngressHandler =>
    createIngressHandler({
      env: {
        TABLE_NAME: aws.tableName,
        JOB_QUEUE_URL: queue.queueUrl,
        TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
        TELEGRAM_WEBHOOK_SECRET_ARN: ARN.webhook,
        TELEGRAM_ALLOWED_USER_IDS: allowedUserIds,
        TELEGRAM_API_ROOT: api.apiRoot,
        TENANT: tenant,
      },
      secrets,
      dynamo: aws.dynamo,
      sqs: queue.client,
      logger: silentLogger,
    });
  const ingress = ingressFor(options.allowedUserIds);

  let updateId = 5000;
  const nextUpdateId = () => updateId++;
  const sendUpdate = (update: Record<string, unknown>, via: IngressHandler = ingress) =>
    via({
      version: '2.0',
      routeKey: 'POST /telegram/webhook',
      rawPath: '/telegram/webhook',
      headers: { 'content-type': 'application/json', [SECRET_HEADER]: webhookSecret },
      requestContext: { http: { method: 'POST', sourceIp: '149.154.167.197' } },
      body: JSON.stringify({ update_id: nextUpdateId(), ...update }),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2);

  const workerOptions = (overrides: WorkerOverrides = {}): WorkerOptions => {
    const { env, queue, ...rest } = { ...options.worker, ...overrides };
    const feeding = queue ?? sqs;
    return {
      env: {
        TABLE_NAME: aws.tableName,
        ...(options.withoutBucket ? {} : { TRANSCRIPT_BUCKET: aws.bucket }),
        TELEGRAM_BOT_TOKEN_SECRET_ARN: ARN.token,
        ANTHROPIC_API_KEY_SECRET_ARN: ARN.anthropic,
        ANTHROPIC_BASE_URL: model.url,
        JOB_MAX_ATTEMPTS: String(maxAttempts),
        JOB_QUEUE_URL: feeding.queueUrl,
        TELEGRAM_API_ROOT: api.apiRoot,
        DATA_DIR: dataDir,
        AGENT_DIR: agentDir,
        ...options.worker?.env,
        ...overrides.env,
      },
      secrets,
      dynamo: aws.dynamo,
      ...(options.withoutBucket ? {} : { s3: aws.s3 }),
      sqs: feeding.client,
      logger: silentLogger,
      ...rest,
    };
  };
  const worker = (overrides?: WorkerOverrides) => createWorker(workerOptions(overrides));

  return {
    aws,
    sqs,
    api,
    model,
    root,
    agentDir,
    dataDir,
    table: { client: aws.dynamo, tableName: aws.tableName },
    ingress,
    secrets,
    nextUpdateId,
    sendUpdate,
    sendText: (chatId, text, via) =>
      sendUpdate(textMessageUpdate({ chatId, text, from: { id: chatId, first_name: 'Ada' } }), via),
    ingressFor,
    workerOptions,
    worker,
    async withWorker(run, overrides) {
      const running = worker(overrides);
      try {
        return await run(running);
      } finally {
        await running.close();
      }
    },
    deliver: (running, remainingMs) => sqs.deliver(running.handle, lambdaContext(remainingMs)),
    async deliverNext(running, { queue = sqs, visibilitySeconds = 1 } = {}) {
      let delivery: Delivery | undefined;
      await waitUntil(async () => {
        delivery = await queue.deliver(running.handle, lambdaContext(), {
          visibilityTimeoutSeconds: visibilitySeconds,
        });
        return delivery.records.length > 0;
      });
      return delivery as Delivery;
    },
    emptyLocalDisk: () => rm(dataDir, { recursive: true, force: true }),
    sentTexts: (chatId) => api.sentMessages(chatId).map((sent) => sent.text),
    async close() {
      await Promise.all([aws.stop(), sqs.stop(), api.stop(), model.stop()]);
      await rm(root, { recursive: true, force: true });
    },
  };
}
