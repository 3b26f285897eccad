import path from 'node:path';
import { InMemoryAlbumGate } from '../adapters/memory/in-memory-album-gate.js';
import { InMemoryTurnControl } from '../adapters/memory/in-memory-turn-control.js';
import { SqliteJobQueue } from '../adapters/sqlite/sqlite-job-queue.js';
import { SqliteQuestionStore } from '../adapters/sqlite/sqlite-question-store.js';
import { SqliteReplyOutbox } from '../adapters/sqlite/sqlite-reply-outbox.js';
import { TelegramBot } from '../adapters/telegram/telegram-bot.js';
import { TelegramChannel } from '../adapters/telegram/telegram-channel.js';
import type { AppSettings } from '../config/app-settings.js';
import type { Env } from '../config/runtime-settings.js';
import { AnswerFirstSink } from '../core/pipeline/answer-first-sink.js';
import {
  ConversationWorker,
  type ConversationWorkerOptions,
} from '../core/pipeline/conversation-worker.js';
import { Ingress } from '../core/pipeline/ingress.js';
import { WorkerPool } from '../core/pipeline/worker-pool.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import { composeLocalRuntime } from './compose-runtime.js';
import { startHealthServer } from './health-server.js';
import { mediaFromSettings } from './media-from-settings.js';

export interface LocalApp {
  bot: TelegramBot;
  queue: SqliteJobQueue;
  pool: WorkerPool;
  /** Bound port in webhook mode. */
  webhookPort: number | undefined;
  /** Bound port of the health endpoint, when HEALTH_PORT is set. */
  healthPort: number | undefined;
  /** Stop taking updates, put running turns back on the queue, close storage. */
  stop(): Promise<void>;
}

export interface LocalAppOptions {
  logger?: Logger | undefined;
  /** An update could not be stored: stop at once, without confirming it to Telegram. */
  onFatal?: ((error: unknown) => void) | undefined;
  /** The status message of long turns (delays, or `false` for none); defaults otherwise. */
  progress?: ConversationWorkerOptions['progress'];
  /** Abandons start-up (the process told to stop while it waits for Telegram). */
  signal?: AbortSignal | undefined;
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * The whole system in one process: grammY bot (long polling, or webhook when
 * configured) -> ingress -> SQLite job queue -> worker pool -> agent runtime,
 * all on one SQLite file under the data directory.
 */
export async function startLocalApp(
  settings: AppSettings,
  env: Env,
  options: LocalAppOptions = {},
): Promise<LocalApp> {
  const logger = options.logger ?? silentLogger;
  const local = await composeLocalRuntime(settings.runtime, env, logger);
  const queue = new SqliteJobQueue(local.database, { logger });
  const outbox = new SqliteReplyOutbox(local.database);
  // Questions to the person: the bot records presses and typed answers, the
  // waiting turn sees them; in the database, so a restart forgets neither an
  // open question nor an "always" approval.
  const questions = new SqliteQuestionStore(local.database);
  // Housekeeping, now and hourly: forget old dedupe ids and dead letters, and
  // remove transcripts of conversations idle past their expiry.
  const housekeeping = async () => {
    try {
      const pruned = queue.prune() + questions.prune();
      if (pruned > 0) logger.info('pruned old queue records', { rows: pruned });
      await local.sweepExpired();
    } catch (error) {
      logger.warn('housekeeping failed', { error: String(error) });
    }
  };
  await housekeeping();
  const pruneTimer = setInterval(() => void housekeeping(), HOUR_MS);
  pruneTimer.unref();

  const turns = new InMemoryTurnControl();
  let pool: WorkerPool | undefined;
  const ingress = new Ingress({
    queue: new AnswerFirstSink(queue, questions, logger),
    logger,
    onEnqueued: () => pool?.notify(),
  });
  const bot = new TelegramBot({
    token: settings.telegram.token,
    apiRoot: settings.telegram.apiRoot,
    tenant: settings.tenant,
    access: settings.access,
    ingress,
    logger,
    onFatal: options.onFatal,
    questions,
    // One process takes every update, so memory is where albums are remembered.
    albums: new InMemoryAlbumGate(),
  });

  let webhookPort: number | undefined;
  // Aborted on stop: a send to an unreachable Telegram must not hold up shutdown
  // (the turn goes back to the queue and is answered after the restart).
  const sends = new AbortController();
  try {
    await bot.init(options.signal);
    const channel = new TelegramChannel(bot.bot.api, { logger, signal: sends.signal });
    const worker = new ConversationWorker({
      runner: local.runtime,
      channel,
      outbox,
      conversations: local.conversations,
      turns,
      maxAttempts: settings.worker.maxAttempts,
      progress: options.progress,
      questions: { store: questions, timeoutMs: settings.questions.timeoutMs },
      // Beside the workspaces, so a download moves into one by a rename.
      media: mediaFromSettings(settings.media, path.join(settings.runtime.dataDir, 'tmp')),
      logger,
    });
    pool = new WorkerPool({
      queue,
      outbox,
      worker,
      concurrency: settings.worker.concurrency,
      logger,
    });
    await pool.start();
    await bot.registerCommands();
    if (settings.telegram.webhook) {
      webhookPort = await bot.startWebhook(settings.telegram.webhook);
      logger.info('receiving updates by webhook', {
        port: webhookPort,
        url: settings.telegram.webhook.url,
      });
    } else {
      await bot.startPolling();
      logger.info('receiving updates by long polling');
    }
  } catch (error) {
    clearInterval(pruneTimer);
    await pool?.stop();
    await bot.stop().catch(() => {});
    await local.close();
    throw error;
  }

  if (settings.access.openToAll)
    logger.warn('the bot is open to everyone (TELEGRAM_ALLOW_EVERYONE)');
  else if (settings.access.allowedUserIds.size + settings.access.allowedChatIds.size === 0) {
    logger.warn(
      'no one is allowed yet: set TELEGRAM_ALLOWED_USER_IDS or TELEGRAM_ALLOWED_CHAT_IDS (refused users are logged with their id)',
    );
  }
  const started = pool;
  const health =
    settings.healthPort === undefined
      ? undefined
      : await startHealthServer(settings.healthPort, () => ({
          receiving: bot.receiving,
          workers: started.running,
          busy: started.busy,
        }));
  logger.info('bot started', {
    username: bot.me.username,
    tenant: settings.tenant,
    ...(health ? { healthPort: health.port } : {}),
  });

  let stopping: Promise<void> | undefined;
  return {
    bot,
    queue,
    pool: started,
    webhookPort,
    healthPort: health?.port,
    stop() {
      stopping ??= (async () => {
        clearInterval(pruneTimer);
        await health?.close();
        const taking = bot.stop();
        // The pool marks itself stopping first, so an aborted send reads as shutdown.
        const working = started.stop();
        sends.abort(new Error('shutting down'));
        await Promise.all([taking, working]);
        await local.close();
      })();
      return stopping;
    },
  };
}
