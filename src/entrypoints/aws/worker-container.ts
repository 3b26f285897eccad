import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoConversationIndex } from '../../adapters/aws/dynamo-conversation-index.js';
import { DynamoConversationLease } from '../../adapters/aws/dynamo-conversation-lease.js';
import { DynamoJobAttempts } from '../../adapters/aws/dynamo-job-attempts.js';
import { DynamoQuestionStore } from '../../adapters/aws/dynamo-question-store.js';
import { DynamoReplyOutbox } from '../../adapters/aws/dynamo-reply-outbox.js';
import { DynamoSessionStore } from '../../adapters/aws/dynamo-session-store.js';
import { S3WorkspaceStore } from '../../adapters/aws/s3-workspace-store.js';
import { PowertoolsSecretSource } from '../../adapters/aws/secret-source.js';
import { SqsMessageVisibility } from '../../adapters/aws/sqs-message-visibility.js';
import { createBotApi } from '../../adapters/telegram/bot-api-client.js';
import { TelegramChannel } from '../../adapters/telegram/telegram-channel.js';
import { loadQuestionSettings } from '../../config/question-settings.js';
import { type Env, loadRuntimeSettings } from '../../config/runtime-settings.js';
import { AgentRuntime } from '../../core/agent/agent-runtime.js';
import { OneWorkspaceTurnRunner } from '../../core/agent/workspace-sweep.js';
import { WorkspaceSyncTurnRunner } from '../../core/agent/workspace-sync-turn-runner.js';
import type { Logger } from '../../ports/logger.js';
import type { SecretSource } from '../../ports/secret-source.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import {
  composeAgentRuntime,
  outgoingFilesRoot,
  workspacesRoot,
} from '../compose-agent-runtime.js';
import { mediaFromSettings } from '../media-from-settings.js';
import { loadWorkerSettings } from './handler-settings.js';

/**
 * What the worker Lambda makes once per container, on its first invocation:
 * settings, AWS clients, the storage adapters, the Telegram API and the agent
 * runtime (composed as locally, with DynamoDB/S3 stores and a temp root
 * under DATA_DIR). Per-invocation wiring is in worker-handler.ts.
 */

export interface WorkerContainerOptions {
  /** Default: process.env. */
  env?: Env;
  /** Resolves relative DATA_DIR / AGENT_DIR (default: the process's cwd). */
  cwd?: string;
  /** Default: Secrets Manager through Powertools Parameters. */
  secrets?: SecretSource;
  dynamo?: DynamoDBClient;
  s3?: S3Client;
  sqs?: SQSClient;
  /** Replaces the agent runtime (tests of the queue semantics); default: AgentRuntime. */
  runner?: TurnRunner;
}

export type WorkerContainer = Awaited<ReturnType<typeof composeWorkerContainer>>;

export async function composeWorkerContainer(options: WorkerContainerOptions, logger: Logger) {
  const env = options.env ?? process.env;
  const settings = loadWorkerSettings(env, options.cwd);
  const { tableName } = settings;
  const owned: Array<{ destroy(): void }> = [];
  const own = <T extends { destroy(): void }>(client: T): T => {
    owned.push(client);
    return client;
  };
  const dynamo = options.dynamo ?? own(new DynamoDBClient({}));
  const sqs = options.sqs ?? own(new SQSClient({}));
  const secrets = options.secrets ?? new PowertoolsSecretSource();
  const conversations = new DynamoConversationIndex({ client: dynamo, tableName });
  // One bucket and client: transcript batches too big for an item, and the conversations' files.
  const s3 = settings.transcriptBucket
    ? { client: options.s3 ?? own(new S3Client({})), bucket: settings.transcriptBucket }
    : undefined;
  const tempRoot = path.join(settings.dataDir, 'tmp');

  const agentRuntime = async (): Promise<AgentRuntime> => {
    const apiKey =
      settings.anthropicApiKeySecretArn && !settings.useBedrock
        ? await secrets.get(settings.anthropicApiKeySecretArn)
        : undefined;
    // The key joins the runtime's settings only; the agent's environment is built from nothing.
    const runtimeSettings = loadRuntimeSettings(
      { ...env, DATA_DIR: settings.dataDir, ...(apiKey ? { ANTHROPIC_API_KEY: apiKey } : {}) },
      options.cwd,
    );
    const sessionStore = new DynamoSessionStore({
      client: dynamo,
      tableName,
      // Batches too big for an item go to S3.
      ...(s3 ? { s3: { ...s3, prefix: 'transcripts/' } } : {}),
      ttlSeconds: Math.ceil(runtimeSettings.sessionTtlMs / 1000),
    });
    const runtime = await composeAgentRuntime(
      runtimeSettings,
      env,
      { sessionStore, conversations, tempRoot },
      logger,
    );
    // The model gateway and the skills plugin, before the first turn needs them.
    await runtime.start();
    return runtime;
  };

  const [token, runner, transcriptionKey] = await Promise.all([
    secrets.get(settings.botTokenSecretArn),
    options.runner ?? agentRuntime(),
    // Only the transcriber holds it; the agent's environment is built from nothing.
    settings.transcriptionApiKeySecretArn
      ? secrets.get(settings.transcriptionApiKeySecretArn)
      : undefined,
  ]);
  // The same bounded client as the local bot; what still fails comes back as a retry of the message.
  const api = createBotApi(token, settings.telegramApiRoot);
  const workspaceRoot = workspacesRoot(settings.dataDir);
  // The conversation's files: restored from S3 before each turn, saved after it, then off /tmp.
  const keptFiles: TurnRunner = s3
    ? new WorkspaceSyncTurnRunner(runner, {
        store: new S3WorkspaceStore({
          ...s3,
          prefix: 'workspaces/',
          limits: settings.workspaceLimits,
          logger,
        }),
        workspaceRoot,
        conversations,
        limits: settings.workspaceLimits,
        logger,
      })
    : runner;

  return {
    settings,
    dynamo,
    // Claude Code cannot be sandboxed on Lambda: no other conversation's files stay on disk.
    // The same for files staged for delivery: another conversation's left from a
    // failed delivery go (its redelivery then tells the person the file was lost).
    runner: new OneWorkspaceTurnRunner(
      new OneWorkspaceTurnRunner(keptFiles, workspaceRoot, logger),
      outgoingFilesRoot(settings.dataDir),
      logger,
    ),
    channel: new TelegramChannel(api, { logger }),
    /** Files people send: downloaded under /tmp beside the workspaces, then moved into one. */
    media: mediaFromSettings(
      {
        ...settings.media,
        transcription: settings.media.transcription && {
          ...settings.media.transcription,
          apiKey: transcriptionKey,
        },
      },
      tempRoot,
    ),
    conversations,
    /** Questions to the person: the ingress Lambda records presses, the running turn polls. */
    questions: {
      store: new DynamoQuestionStore({ client: dynamo, tableName }),
      timeoutMs: loadQuestionSettings(env).timeoutMs,
    },
    outbox: new DynamoReplyOutbox({ client: dynamo, tableName }),
    lease: new DynamoConversationLease({ client: dynamo, tableName }),
    /** Real attempts per job: a receive that ran nothing is not one. */
    attempts: new DynamoJobAttempts({ client: dynamo, tableName }),
    visibility: new SqsMessageVisibility({ client: sqs, queueUrl: settings.queueUrl }),
    /** Sends continuations to the job queue (worker-handler.ts). */
    sqs,
    /** Stops the runtime (model gateway) and the clients made here. */
    async close() {
      if (runner instanceof AgentRuntime) await runner.close();
      for (const client of owned) client.destroy();
    },
  };
}
