import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, webhookCallback } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import type { Ingress } from '../../core/pipeline/ingress.js';
import type { AccessPolicy } from '../../domain/access-policy.js';
import { closeServer } from '../../lib/http-server.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import { UpdateIntake } from './update-intake.js';

export const BOT_COMMANDS = [
  { command: 'new', description: 'Start a fresh conversation' },
  { command: 'status', description: 'Session, usage, and whether I am working' },
  { command: 'stop', description: 'Stop what I am doing' },
  { command: 'help', description: 'What I can do' },
];

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
 * server in webhook mode.
 */
export class TelegramBot {
  readonly bot: Bot;
  private readonly logger: Logger;
  private readonly intake: UpdateIntake;
  private server: Server | undefined;
  private polling: Promise<void> | undefined;

  constructor(private readonly options: TelegramBotOptions) {
    this.logger = options.logger ?? silentLogger;
    this.bot = new Bot(options.token, {
      client: { ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}) },
      ...(options.botInfo ? { botInfo: options.botInfo } : {}),
    });
    // 429 (flood control, "retry after N") and 5xx/network failures are retried
    // here, a bounded number of times; the job queue's retries are the next line.
    this.bot.api.config.use(autoRetry({ maxRetryAttempts: 4, maxDelaySeconds: 60 }));
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

  async init(): Promise<void> {
    await this.bot.init();
  }

  /** Register the command menu. Best effort: a failure is logged, not fatal. */
  async registerCommands(): Promise<void> {
    try {
      await this.bot.api.setMyCommands(BOT_COMMANDS);
    } catch (error) {
      this.logger.warn('setMyCommands failed', { error: String(error) });
    }
  }

  /** Long polling; resolves once polling runs. */
  async startPolling(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.polling = this.bot
        .start({
          drop_pending_updates: false,
          onStart: () => resolve(),
        })
        .catch((error: unknown) => {
          this.logger.error('long polling stopped', { error: String(error) });
          reject(error);
          this.options.onFatal?.(error);
        });
    });
  }

  /** Webhook mode: serve Telegram's POSTs and register the URL with the secret. Returns the bound port. */
  async startWebhook(webhook: WebhookOptions): Promise<number> {
    await this.bot.init();
    const path = new URL(webhook.url).pathname || '/';
    const handle = webhookCallback(this.bot, 'http', {
      secretToken: webhook.secret,
      // Handling is a database insert; if it ever takes this long, let Telegram retry.
      timeoutMilliseconds: 10_000,
    });
    const server = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== path) {
        res.writeHead(404).end();
        return;
      }
      handle(req, res).catch((error: unknown) => {
        const invalid = error instanceof SyntaxError;
        this.logger[invalid ? 'warn' : 'error']('webhook request failed', { error: String(error) });
        // 400 for a body that is not JSON (not from Telegram); 500 makes Telegram redeliver.
        if (!res.headersSent) res.writeHead(invalid ? 400 : 500).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(webhook.port, webhook.host, () => resolve());
    });
    this.server = server;
    await this.bot.api.setWebhook(webhook.url, { secret_token: webhook.secret });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    if (this.bot.isRunning()) await this.bot.stop();
    await this.polling?.catch(() => {});
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
