import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bot, GrammyError, HttpError } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import type { Ingress } from '../../core/pipeline/ingress.js';
import type { AccessPolicy } from '../../domain/access-policy.js';
import { errorMessage } from '../../domain/errors.js';
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
  grammySignal,
  LONG_POLL_SECONDS,
  networkFailure,
} from './bot-api-client.js';
import { UpdateIntake } from './update-intake.js';
import {
  MAX_UPDATE_BYTES,
  parseUpdateBody,
  SECRET_HEADER,
  secretMatches,
} from './webhook-request.js';

export const BOT_COMMANDS = texts.commandMenu;

/** Waits between `getMe` attempts at start while Telegram cannot be reached: 1 s doubling to 1 min. */
const START_RETRY_FIRST_MS = 1_000;
const START_RETRY_MAX_MS = 60_000;
/** Said once if `getMe` has not answered by then (a Bot API that accepts but never answers). */
const START_SLOW_MS = 5_000;
/** How long `stop` waits to confirm the last polled update to Telegram; unconfirmed ones come again (deduplicated). */
const STOP_CONFIRM_MS = 3_000;
/** Handling a webhook update is a database insert; past this, let Telegram retry. */
const WEBHOOK_HANDLE_MS = 10_000;

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
 * server in webhook mode.
 */
export class TelegramBot {
  readonly bot: Bot;
  private readonly logger: Logger;
  private readonly intake: UpdateIntake;
  private server: Server | undefined;
  private polling: Promise<void> | undefined;
  /** Set while long polling cannot reach Telegram, so that it is said once, not every 3 s. */
  private pollingFailing = false;

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
    this.bot.api.config.use(async (prev, method, payload, signal) => {
      try {
        const result = await prev(method, payload, signal);
        if (method === 'getUpdates') this.pollingReached();
        return result;
      } catch (error) {
        if (method === 'getUpdates' && !signal?.aborted) this.pollingFailed(error);
        throw error;
      }
    });
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
    let delayMs = START_RETRY_FIRST_MS;
    const where = this.apiRootForLog();
    const slow = setTimeout(() => {
      this.logger.warn('no answer from the Telegram Bot API yet (getMe); still waiting', {
        apiRoot: where,
      });
    }, START_SLOW_MS);
    try {
      for (;;) {
        try {
          // Not bot.init(): grammY retries a failed getMe there forever, silently.
          if (!this.bot.isInited())
            this.bot.botInfo = await this.bot.api.getMe(grammySignal(signal));
          if (delayMs > START_RETRY_FIRST_MS) {
            this.logger.info('reached the Telegram Bot API', { apiRoot: where });
          }
          return;
        } catch (error) {
          if (signal?.aborted || !isUnreachable(error)) throw error;
          this.logger.error('cannot reach the Telegram Bot API; retrying', {
            apiRoot: where,
            error: networkFailure(error) ?? errorMessage(error),
            retryInSeconds: delayMs / 1000,
          });
          clearTimeout(slow);
          await sleep(delayMs, signal);
          delayMs = Math.min(delayMs * 2, START_RETRY_MAX_MS);
        }
      }
    } finally {
      clearTimeout(slow);
    }
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
    return this.bot.isRunning() && !this.pollingFailing;
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
   * Returns the bound port. A request is checked before its body is parsed:
   * the secret (401), the size (413 past MAX_UPDATE_BYTES), then the envelope
   * (400 for anything that is not an update, `null` included).
   */
  async startWebhook(webhook: WebhookOptions): Promise<number> {
    await this.init();
    const path = new URL(webhook.url).pathname || '/';
    const server = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== path) {
        res.writeHead(404).end();
        return;
      }
      this.serveUpdate(req, res, webhook.secret).catch((error: unknown) => {
        this.logger.error('webhook request failed', { error: errorMessage(error) });
        // 500 makes Telegram redeliver.
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(webhook.port, webhook.host, () => resolve());
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
      await Promise.race([confirming, sleep(STOP_CONFIRM_MS)]);
    }
    await Promise.race([this.polling?.catch(() => {}), sleep(STOP_CONFIRM_MS)]);
    const server = this.server;
    this.server = undefined;
    if (server) await closeServer(server);
  }

  private async serveUpdate(
    req: IncomingMessage,
    res: ServerResponse,
    secret: string,
  ): Promise<void> {
    const given = req.headers[SECRET_HEADER];
    if (typeof given !== 'string' || !secretMatches(given, secret)) {
      this.logger.warn('rejected a webhook request without the secret', {
        secretPresent: given !== undefined,
      });
      refuse(req, res, 401);
      return;
    }
    const raw = await readBody(req, MAX_UPDATE_BYTES);
    if (raw === undefined) {
      this.logger.warn('rejected a webhook body over the size limit', {
        limitBytes: MAX_UPDATE_BYTES,
        contentLength: req.headers['content-length'],
      });
      refuse(req, res, 413);
      return;
    }
    const update = parseUpdateBody(raw);
    if (!update) {
      // Not from Telegram; 400 so that it is not retried.
      this.logger.warn('rejected a body that is not a Telegram update');
      res.writeHead(400).end();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`update not stored within ${WEBHOOK_HANDLE_MS} ms`)),
        WEBHOOK_HANDLE_MS,
      );
    });
    try {
      // biome-ignore lint/suspicious/noExplicitAny: the envelope was checked; grammY reads the rest
      await Promise.race([this.bot.handleUpdate(update as any), timeout]);
    } finally {
      clearTimeout(timer);
    }
    res.writeHead(200).end();
  }

  private pollingFailed(error: unknown): void {
    if (this.pollingFailing || !isUnreachable(error)) return;
    this.pollingFailing = true;
    this.logger.error('cannot reach the Telegram Bot API (getUpdates); still trying', {
      apiRoot: this.apiRootForLog(),
      error: networkFailure(error) ?? errorMessage(error),
    });
  }

  private pollingReached(): void {
    if (!this.pollingFailing) return;
    this.pollingFailing = false;
    this.logger.info('reached the Telegram Bot API again');
  }

  /** Where the Bot API is, for the log: the root only (the request URLs hold the token). */
  private apiRootForLog(): string {
    return this.options.apiRoot ?? 'https://api.telegram.org';
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

/** Telegram cannot be reached for now, as opposed to refusing what was asked. */
function isUnreachable(error: unknown): boolean {
  if (error instanceof HttpError) return true;
  return error instanceof GrammyError && (error.error_code >= 500 || error.error_code === 429);
}

/** Resolves after `ms`, or rejects at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The body as text, or undefined once it passes `limit` bytes (stated in
 * Content-Length or counted while reading): nothing more of it is read.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: string | undefined) => {
      req.off('data', onData).off('end', onEnd).off('error', reject);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      // Stop reading, but leave the connection up for the 413 (refuse closes it).
      req.pause();
      done(undefined);
    };
    const onEnd = () => done(Buffer.concat(chunks).toString('utf8'));
    req.on('data', onData).on('end', onEnd).on('error', reject);
  });
}

/**
 * Answers without reading (the rest of) the body, and closes the connection
 * once the answer is out, so that an unread body is not drained.
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: number): void {
  const socket = req.socket;
  res.writeHead(status, { connection: 'close' });
  res.end(() => socket?.destroy());
}
