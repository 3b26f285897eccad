import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bot } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import type { Ingress } from '../../core/pipeline/ingress.js';
import type { AccessPolicy } from '../../domain/access-policy.js';
import { errorMessage } from '../../domain/errors.js';
import { abortableSleep } from '../../lib/abortable-sleep.js';
import { closeServer } from '../../lib/http-server.js';
import type { AlbumGate } from '../../ports/album-gate.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { QuestionAnswers } from '../../ports/question-store.js';
import type { RefusalLimiter } from '../../ports/refusal-limiter.js';
import { texts } from '../../texts/en.js';
import { ALLOWED_UPDATES } from './allowed-updates.js';
import {
  botApiClientOptions,
  boundRetries,
  LONG_POLL_SECONDS,
  networkFailure,
} from './bot-api-client.js';
import { fetchIdentityWithRetry, PollingHealth } from './bot-api-reachability.js';
import { UpdateIntake } from './update-intake.js';
import { startWebhookServer } from './webhook-server.js';

export const BOT_COMMANDS = texts.commandMenu;

/** How long `stop` waits to confirm the last polled update to Telegram; unconfirmed ones come again (deduplicated). */
const STOP_CONFIRM_MS = 3_000;

export interface TelegramBotOptions {
  token: string;
  /** Bot API base URL; Telegram's own unless set (self-hosted Bot API server, tests). */
  apiRoot?: string | undefined;
  tenant: string;
  access: AccessPolicy;
  ingress: Ingress;
  logger?: Logger | undefined;
  /** Skip `getMe` at start (known identity). */
  botInfo?: UserFromGetMe | undefined;
  /** Called when an update could not be stored: the process should stop without confirming it. */
  onFatal?: ((error: unknown) => void) | undefined;
  /** How often a refused person is answered; default in memory (see UpdateIntake). */
  refusals?: RefusalLimiter | undefined;
  /** Where presses of question buttons go (see UpdateIntake); without it they are stale. */
  questions?: QuestionAnswers | undefined;
  /** Albums in groups, taken whole when one item is for the bot (see UpdateIntake). */
  albums?: AlbumGate | undefined;
}

export interface WebhookOptions {
  /** Public HTTPS URL Telegram posts to; its path is the path served. */
  url: string;
  secret: string;
  host: string;
  port: number;
}

/**
 * The grammY side of the bot: every update goes through the UpdateIntake (the
 * same one the ingress Lambda uses) to the core ingress, which stores it; the
 * bot never waits for the agent. Runs with long polling, or behind an HTTP
 * server in webhook mode (webhook-server.ts). Start-up's `getMe` retries and
 * polling's reachability are in bot-api-reachability.ts.
 */
export class TelegramBot {
  readonly bot: Bot;
  private readonly logger: Logger;
  private readonly intake: UpdateIntake;
  private server: Server | undefined;
  private polling: Promise<void> | undefined;
  private readonly pollingHealth: PollingHealth;

  constructor(private readonly options: TelegramBotOptions) {
    this.logger = options.logger ?? silentLogger;
    this.bot = new Bot(options.token, {
      client: botApiClientOptions(options.apiRoot),
      ...(options.botInfo ? { botInfo: options.botInfo } : {}),
    });
    // Every call bounded: a timeout, a few retries of 429 and 5xx, network
    // failures surfaced at once (bot-api-client.ts). The job queue's retries
    // are the next line for answers; start-up waits for Telegram (init).
    boundRetries(this.bot.api);
    this.pollingHealth = new PollingHealth(this.logger, options.apiRoot);
    this.pollingHealth.watch(this.bot.api);
    const { ingress } = options;
    this.intake = new UpdateIntake({
      tenant: options.tenant,
      access: options.access,
      ingress: { accept: (message) => storeWithRetry(() => ingress.accept(message)) },
      api: {
        answerCallbackQuery: (id, text) => this.bot.api.answerCallbackQuery(id, { text }),
      },
      identity: () => this.bot.botInfo,
      logger: this.logger,
      answerInBackground: true,
      refusals: options.refusals,
      questions: options.questions,
      albums: options.albums,
    });
    this.bot.use(async (ctx) => {
      await this.handle(ctx.update);
    });
    this.bot.catch((error) => {
      this.logger.error('could not store an update', { error: String(error.error ?? error) });
      options.onFatal?.(error.error ?? error);
    });
  }

  /** Identity from `getMe` (once `init` or a start ran). */
  get me(): UserFromGetMe {
    return this.bot.botInfo;
  }

  /**
   * Fetches the bot's identity (`getMe`). While Telegram cannot be reached
   * (network failure, timeout, 5xx, long flood wait) it says so in the log at
   * once and keeps trying, 1 s doubling to a minute: a bot started before its
   * network is up comes up by itself. A rejected token (401) or other
   * refusal ends it at once, as does `signal` (the process told to stop).
   */
  async init(signal?: AbortSignal): Promise<void> {
    await fetchIdentityWithRetry(this.bot, {
      logger: this.logger,
      apiRoot: this.options.apiRoot,
      signal,
    });
  }

  /** Register the command menu. Best effort: a failure is logged, not fatal. */
  async registerCommands(): Promise<void> {
    try {
      await this.bot.api.setMyCommands(BOT_COMMANDS);
    } catch (error) {
      this.logger.warn('setMyCommands failed', { error: String(error) });
    }
  }

  /**
   * Whether updates are coming in: the webhook server listens, or long
   * polling runs and its last `getUpdates` reached Telegram.
   */
  get receiving(): boolean {
    if (this.server) return this.server.listening;
    return this.bot.isRunning() && !this.pollingHealth.failing;
  }

  /** Long polling; resolves once polling runs. */
  async startPolling(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.polling = this.bot
        .start({
          drop_pending_updates: false,
          timeout: LONG_POLL_SECONDS,
          // Named, not left to Telegram: an earlier webhook's narrower list would stick.
          allowed_updates: ALLOWED_UPDATES,
          onStart: () => resolve(),
        })
        .catch((error: unknown) => {
          this.logger.error('long polling stopped', { error: String(error) });
          reject(error);
          this.options.onFatal?.(error);
        });
    });
  }

  /**
   * Webhook mode: serve Telegram's POSTs and register the URL with the secret.
   * Returns the bound port. A request is checked before its body is parsed
   * (see webhook-server.ts).
   */
  async startWebhook(webhook: WebhookOptions): Promise<number> {
    await this.init();
    const server = await startWebhookServer({
      path: new URL(webhook.url).pathname || '/',
      secret: webhook.secret,
      host: webhook.host,
      port: webhook.port,
      // biome-ignore lint/suspicious/noExplicitAny: the envelope was checked; grammY reads the rest
      handleUpdate: (update) => this.bot.handleUpdate(update as any),
      logger: this.logger,
    });
    this.server = server;
    await this.bot.api.setWebhook(webhook.url, {
      secret_token: webhook.secret,
      allowed_updates: ALLOWED_UPDATES,
    });
    return (server.address() as AddressInfo).port;
  }

  /**
   * Stops taking updates, in bounded time: long polling is cancelled, and
   * confirming the last update to Telegram is given STOP_CONFIRM_MS (an
   * unconfirmed update comes again after a restart and is dropped as a
   * duplicate).
   */
  async stop(): Promise<void> {
    if (this.bot.isRunning()) {
      const confirming = this.bot.stop().catch((error: unknown) => {
        this.logger.warn('could not confirm the last update to Telegram', {
          error: networkFailure(error) ?? errorMessage(error),
        });
      });
      await atMost(confirming, STOP_CONFIRM_MS);
    }
    await atMost(
      this.polling?.catch(() => {}),
      STOP_CONFIRM_MS,
    );
    const server = this.server;
    this.server = undefined;
    if (server) await closeServer(server);
  }

  private async handle(update: unknown): Promise<void> {
    const outcome = await this.intake.take(update);
    if (outcome.action === 'ignored') {
      this.logger.debug('update ignored', { updateId: outcome.updateId, reason: outcome.reason });
    }
  }
}

/** A busy database is worth a few quick retries before the update is declared lost. */
async function storeWithRetry<T>(store: () => Promise<T>): Promise<T> {
  const delays = [50, 200, 1_000];
  for (let attempt = 0; ; attempt++) {
    try {
      return await store();
    } catch (error) {
      const delay = delays[attempt];
      if (delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Waits for `promise`, but no longer than `ms`; the timer does not outlive the wait. */
async function atMost(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([promise, abortableSleep(ms, done.signal).catch(() => {})]);
  } finally {
    done.abort();
  }
}
