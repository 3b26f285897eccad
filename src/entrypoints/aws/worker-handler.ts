/**
 * The worker Lambda: consumes the SQS FIFO job queue and runs each message
 * through the same ConversationWorker as the local server, with AWS adapters
 * around it (DynamoDB/S3 session store, conversation index, reply outbox,
 * turn control and lease; Telegram through grammY).
 *
 * Queue semantics, per record (Powertools batch processing, FIFO-aware, so a
 * failed record fails the records after it in its group, and only those):
 *
 * - answered -> success; SQS deletes the message. The reply outbox entry is
 *   left to expire, so a message delivered again is never answered twice.
 * - retry (turn or delivery failed, attempts left) -> failed record, visible
 *   again after a short backoff (ChangeMessageVisibility) instead of the
 *   queue's long visibility timeout.
 * - given up -> on the last receive (`ApproximateReceiveCount` =
 *   JOB_MAX_ATTEMPTS, the redrive policy's maxReceiveCount) the core sends
 *   the person one failure message; the record fails once more and SQS moves
 *   it to the dead-letter queue instead of delivering it again.
 * - a body that is not a job -> logged, failed at once, dead-lettered after
 *   the receives; it never reaches the core.
 *
 * Deadline: a turn is stopped `deadlineMarginMs` before the Lambda would be
 * killed; its session is kept and the person told (DeadlineTurnRunner).
 * Turn-lane records hold the conversation's lease while they run. Control-
 * lane records (`/status`, help, refusals, a `/stop` with nothing running)
 * are processed alongside, never behind a turn.
 *
 * Clients, the agent runtime and the Telegram API are made once per
 * container, on the first invocation; workspaces and per-turn temp
 * directories live under DATA_DIR (/tmp on Lambda).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { autoRetry } from '@grammyjs/auto-retry';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { Api } from 'grammy';
import { DynamoConversationIndex } from '../../adapters/aws/dynamo-conversation-index.js';
import { DynamoConversationLease } from '../../adapters/aws/dynamo-conversation-lease.js';
import { DynamoReplyOutbox } from '../../adapters/aws/dynamo-reply-outbox.js';
import { DynamoSessionStore } from '../../adapters/aws/dynamo-session-store.js';
import { DynamoTurnControl } from '../../adapters/aws/dynamo-turn-control.js';
import { PowertoolsSecretSource } from '../../adapters/aws/secret-source.js';
import {
  CONTROL_GROUP_SUFFIX,
  type JobPayload,
  parseJobPayload,
} from '../../adapters/aws/sqs-job-sink.js';
import { TelegramChannel } from '../../adapters/telegram/telegram-channel.js';
import { loadAgentConfig } from '../../config/agent-config.js';
import { type Env, loadRuntimeSettings } from '../../config/runtime-settings.js';
import { AgentRuntime } from '../../core/agent/agent-runtime.js';
import {
  type BatchResult,
  ConversationWorker,
  type ConversationWorkerOptions,
  type WorkerTexts,
} from '../../core/pipeline/conversation-worker.js';
import { DeadlineTurnRunner } from '../../core/pipeline/deadline-turn-runner.js';
import { conversationId } from '../../domain/conversation.js';
import type { Channel } from '../../ports/channel.js';
import type { Lease } from '../../ports/conversation-lease.js';
import type { Logger } from '../../ports/logger.js';
import type { SecretSource } from '../../ports/secret-source.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { modelAccessFrom } from '../model-access-from-settings.js';
import { loadWorkerSettings, type WorkerSettings } from './handler-settings.js';
import { type LambdaLogger, lambdaLogger } from './lambda-logger.js';

export interface WorkerOptions {
  /** Default: process.env. */
  env?: Env;
  /** Resolves relative DATA_DIR / AGENT_DIR (default: the process's cwd). */
  cwd?: string;
  /** Default: Secrets Manager through Powertools Parameters. */
  secrets?: SecretSource;
  dynamo?: DynamoDBClient;
  s3?: S3Client;
  sqs?: SQSClient;
  /** Default: Powertools Logger (JSON lines, Lambda context attached). */
  logger?: Logger;
  /** Replaces the agent runtime (tests of the queue semantics); default: AgentRuntime. */
  runner?: TurnRunner;
  /** Time kept back before the Lambda's own deadline to wind a turn down and answer (default 30 s). */
  deadlineMarginMs?: number;
  /** A turn is not started with less time than this left; the message is retried (default 30 s). */
  minTurnMs?: number;
  /** Backoff before a failed message is received again, by the attempt that failed (1-based). */
  retryDelaySeconds?: (attempt: number) => number;
  /** How often a running turn looks for a `/stop` (default 1 s). */
  stopPollIntervalMs?: number;
  texts?: Partial<WorkerTexts>;
  /** The status message of long turns (delays, or `false` for none); defaults otherwise. */
  progress?: ConversationWorkerOptions['progress'];
}

export interface LambdaWorker {
  handle(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
  /** Stops the runtime (model gateway) and the clients this worker made. */
  close(): Promise<void>;
}

/** Raised to mark a record failed; the message stays in the queue (or moves to the DLQ). */
export class RecordFailedError extends Error {
  override readonly name = 'RecordFailedError';
}

interface Container {
  settings: WorkerSettings;
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  runner: TurnRunner;
  channel: Channel;
  conversations: DynamoConversationIndex;
  outbox: DynamoReplyOutbox;
  lease: DynamoConversationLease;
  close(): Promise<void>;
}

const DEFAULT_MARGIN_MS = 30_000;
const DEFAULT_MIN_TURN_MS = 30_000;
/** Lease retry when another worker holds the conversation (a redelivery while it still runs). */
const LEASE_BUSY_DELAY_SECONDS = 60;

export function defaultRetryDelaySeconds(attempt: number): number {
  return Math.min(300, 15 * 2 ** (attempt - 1));
}

export function createWorker(options: WorkerOptions = {}): LambdaWorker {
  const powertools = options.logger ? undefined : lambdaLogger('agent-worker');
  const logger: Logger = options.logger ?? (powertools as LambdaLogger);
  const margin = options.deadlineMarginMs ?? DEFAULT_MARGIN_MS;
  const minTurnMs = options.minTurnMs ?? DEFAULT_MIN_TURN_MS;
  const retryDelay = options.retryDelaySeconds ?? defaultRetryDelaySeconds;
  let container: Promise<Container> | undefined;

  const wire = (): Promise<Container> => {
    container ??= compose(options, logger);
    // A failed start is not kept: the next invocation tries again.
    container.catch(() => {
      container = undefined;
    });
    return container;
  };

  const handle = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    powertools?.addContext(context);
    let c: Container;
    try {
      c = await wire();
    } catch (error) {
      // The whole batch comes back after the visibility timeout.
      logger.error('the worker could not start', { error: text(error) });
      throw error;
    }
    const deadlineAt = Date.now() + context.getRemainingTimeInMillis() - margin;
    const turns = new DynamoTurnControl({
      client: c.dynamo,
      tableName: c.settings.tableName,
      pollIntervalMs: options.stopPollIntervalMs,
      runningUntil: () => deadlineAt + margin,
      logger,
    });
    const worker = new ConversationWorker({
      runner: new DeadlineTurnRunner(c.runner, deadlineAt, { logger }),
      channel: c.channel,
      outbox: c.outbox,
      conversations: c.conversations,
      turns,
      maxAttempts: c.settings.maxAttempts,
      texts: options.texts,
      progress: options.progress,
      logger,
    });

    const setVisibility = async (record: SQSRecord, seconds: number): Promise<void> => {
      try {
        await c.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: c.settings.queueUrl ?? queueUrlFromArn(record.eventSourceARN),
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
          }),
        );
      } catch (error) {
        // The queue's visibility timeout applies instead: later, not lost.
        logger.warn('could not shorten the visibility timeout', {
          messageId: record.messageId,
          error: text(error),
        });
      }
    };
    const failedHere = new Set<string>();
    const fail = async (record: SQSRecord, delaySeconds: number, reason: string) => {
      failedHere.add(record.messageId);
      await setVisibility(record, delaySeconds);
      throw new RecordFailedError(reason);
    };

    const handleRecord = async (record: SQSRecord): Promise<void> => {
      const attempt = Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1);
      let payload: JobPayload;
      try {
        payload = parseJobPayload(record.body);
      } catch (error) {
        logger.error('queue message is not a job; it goes to the dead-letter queue', {
          messageId: record.messageId,
          attempt,
          error: text(error),
        });
        return fail(record, 0, 'not a job');
      }
      const { kind, message } = payload;
      const id = conversationId(message.conversation);
      const log = { messageId: record.messageId, conversationId: id, kind, attempt };

      let lease: Lease | null = null;
      if (kind === 'turn') {
        if (deadlineAt - Date.now() < minTurnMs) {
          logger.warn('too little time left in this invocation for a turn; retrying', log);
          return fail(record, 0, 'too little time left');
        }
        try {
          lease = await c.lease.acquire(id, context.awsRequestId, deadlineAt + margin - Date.now());
        } catch (error) {
          logger.error('could not take the conversation lease', { ...log, error: text(error) });
          return fail(record, retryDelay(attempt), text(error));
        }
        if (!lease) {
          logger.warn('another worker holds the conversation; retrying later', log);
          return fail(record, LEASE_BUSY_DELAY_SECONDS, 'conversation busy');
        }
      }

      let result: BatchResult;
      try {
        result = await worker.handle({ kind, messages: [message], attempt });
      } catch (error) {
        // Storage failed around the turn (the outbox, say): try again later.
        logger.error('handling a message failed', { ...log, error: text(error) });
        return fail(record, retryDelay(attempt), text(error));
      } finally {
        if (lease) {
          await c.lease.release(lease).catch((error: unknown) => {
            logger.warn('could not release the conversation lease', { ...log, error: text(error) });
          });
        }
      }

      switch (result.type) {
        case 'settled':
          if (result.deadLettered.length === 0) return;
          // The person was told (or cannot be reached). Failing the record
          // once more sends it to the dead-letter queue: this was its last
          // receive, or a redelivery finds the outbox entry and ends here too.
          logger.error('message given up; it goes to the dead-letter queue', {
            ...log,
            error: result.error,
          });
          return fail(record, 0, result.error ?? 'given up');
        case 'retry':
          logger.warn('message will be retried', { ...log, error: result.error });
          return fail(record, retryDelay(attempt), result.error);
        case 'released':
          return fail(record, 0, 'released');
      }
    };

    // The control lane's groups and the turn lane's groups are independent
    // FIFO groups: process them side by side, so /status is not held up by a
    // turn that happens to share the batch.
    const isControl = (record: SQSRecord) =>
      record.attributes.MessageGroupId?.endsWith(CONTROL_GROUP_SUFFIX) === true;
    const run = async (records: SQSRecord[]): Promise<SQSBatchResponse> => {
      if (records.length === 0) return { batchItemFailures: [] };
      return processPartialResponse(
        { Records: records },
        handleRecord,
        new SqsFifoPartialProcessorAsync(),
        { context, skipGroupOnError: true, throwOnFullBatchFailure: false },
      );
    };
    try {
      const [control, turn] = await Promise.all([
        run(event.Records.filter(isControl)),
        run(event.Records.filter((record) => !isControl(record))),
      ]);
      const batchItemFailures = [...control.batchItemFailures, ...turn.batchItemFailures];
      // Records failed unprocessed because an earlier one of their group
      // failed would otherwise hold the group for the whole visibility
      // timeout; SQS keeps them behind the failed one anyway.
      const skipped = new Set(batchItemFailures.map((item) => item.itemIdentifier));
      await Promise.all(
        event.Records.filter(
          (record) => skipped.has(record.messageId) && !failedHere.has(record.messageId),
        ).map((record) => setVisibility(record, 0)),
      );
      return { batchItemFailures };
    } finally {
      // Running-turn items must be cleared before the Lambda freezes.
      await turns.idle();
    }
  };

  return {
    handle,
    async close() {
      const current = container;
      container = undefined;
      if (current) await (await current.catch(() => undefined))?.close();
    },
  };
}

async function compose(options: WorkerOptions, logger: Logger): Promise<Container> {
  const env = options.env ?? process.env;
  const settings = loadWorkerSettings(env, options.cwd);
  const owned: Array<{ destroy(): void }> = [];
  const own = <T extends { destroy(): void }>(client: T): T => {
    owned.push(client);
    return client;
  };
  const dynamo = options.dynamo ?? own(new DynamoDBClient({}));
  const sqs = options.sqs ?? own(new SQSClient({}));
  const secrets = options.secrets ?? new PowertoolsSecretSource();
  const conversations = new DynamoConversationIndex({
    client: dynamo,
    tableName: settings.tableName,
  });

  const [token, runner] = await Promise.all([
    secrets.get(settings.botTokenSecretArn),
    options.runner ??
      agentRuntime({ options, env, settings, dynamo, secrets, conversations, logger, own }),
  ]);
  const api = new Api(token, settings.telegramApiRoot ? { apiRoot: settings.telegramApiRoot } : {});
  // 429s and network hiccups; what still fails comes back as a retry of the message.
  api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 30 }));

  return {
    settings,
    dynamo,
    sqs,
    runner,
    channel: new TelegramChannel(api, { logger }),
    conversations,
    outbox: new DynamoReplyOutbox({ client: dynamo, tableName: settings.tableName }),
    lease: new DynamoConversationLease({ client: dynamo, tableName: settings.tableName }),
    async close() {
      if (runner instanceof AgentRuntime) await runner.close();
      for (const client of owned) client.destroy();
    },
  };
}

async function agentRuntime(deps: {
  options: WorkerOptions;
  env: Env;
  settings: WorkerSettings;
  dynamo: DynamoDBClient;
  secrets: SecretSource;
  conversations: DynamoConversationIndex;
  logger: Logger;
  own: <T extends { destroy(): void }>(client: T) => T;
}): Promise<AgentRuntime> {
  const { options, env, settings, logger } = deps;
  const apiKey =
    settings.anthropicApiKeySecretArn && !settings.useBedrock
      ? await deps.secrets.get(settings.anthropicApiKeySecretArn)
      : undefined;
  // The key joins the runtime's settings only; the agent's environment is built from nothing.
  const runtimeSettings = loadRuntimeSettings(
    { ...env, DATA_DIR: settings.dataDir, ...(apiKey ? { ANTHROPIC_API_KEY: apiKey } : {}) },
    options.cwd,
  );
  const config = await loadAgentConfig(settings.agentDir, env);
  const s3 = settings.transcriptBucket ? (options.s3 ?? deps.own(new S3Client({}))) : undefined;
  const ttlMs = runtimeSettings.sessionTtlMs;
  const sessionStore = new DynamoSessionStore({
    client: deps.dynamo,
    tableName: settings.tableName,
    ...(s3 && settings.transcriptBucket
      ? { s3: { client: s3, bucket: settings.transcriptBucket, prefix: 'transcripts/' } }
      : {}),
    ttlSeconds: Math.ceil(ttlMs / 1000),
  });
  const tempRoot = path.join(settings.dataDir, 'tmp');
  await mkdir(tempRoot, { recursive: true });
  const runtime = new AgentRuntime({
    config,
    sessionStore,
    conversations: deps.conversations,
    modelAccess: modelAccessFrom(runtimeSettings.modelAccess),
    workspaceRoot: path.join(settings.dataDir, 'workspaces'),
    tempRoot,
    model: runtimeSettings.model,
    sessionTtlMs: ttlMs,
    logger,
  });
  // The model gateway and the skills plugin, before the first turn needs them.
  await runtime.start();
  return runtime;
}

/** `arn:aws:sqs:eu-west-1:123456789012:jobs.fifo` -> its queue URL. */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(':');
  if (!partition || !region || !account || !name) throw new Error(`not an SQS queue ARN: ${arn}`);
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

function text(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const lambdaWorker = createWorker();

/** The Lambda entry point (`worker-handler.handler` in the image). */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  lambdaWorker.handle(event, context);
