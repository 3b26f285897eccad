import { type Api, type Bot, GrammyError, HttpError } from 'grammy';
import { errorMessage } from '../../domain/errors.js';
import { abortableSleep } from '../../lib/abortable-sleep.js';
import type { Logger } from '../../ports/logger.js';
import { grammySignal, networkFailure } from './bot-api-client.js';

/**
 * Whether the local bot can reach the Bot API, said in the log once per
 * change rather than on every try: at start (`getMe`, retried until it
 * answers) and while long polling (`getUpdates`).
 */

/** Waits between `getMe` attempts at start while Telegram cannot be reached: 1 s doubling to 1 min. */
const START_RETRY_FIRST_MS = 1_000;
const START_RETRY_MAX_MS = 60_000;
/** Said once if `getMe` has not answered by then (a Bot API that accepts but never answers). */
const START_SLOW_MS = 5_000;

/** Where the Bot API is, for the log: the root only (the request URLs hold the token). */
function apiRootForLog(apiRoot: string | undefined): string {
  return apiRoot ?? 'https://api.telegram.org';
}

/**
 * Sets `bot.botInfo` from `getMe` unless it is known. While Telegram cannot
 * be reached (network failure, timeout, 5xx, long flood wait) it says so in
 * the log at once and keeps trying, 1 s doubling to a minute. A rejected
 * token (401) or other refusal ends it at once, as does `signal`.
 */
export async function fetchIdentityWithRetry(
  bot: Bot,
  options: { logger: Logger; apiRoot: string | undefined; signal?: AbortSignal | undefined },
): Promise<void> {
  const { logger, signal } = options;
  let delayMs = START_RETRY_FIRST_MS;
  const where = apiRootForLog(options.apiRoot);
  const slow = setTimeout(() => {
    logger.warn('no answer from the Telegram Bot API yet (getMe); still waiting', {
      apiRoot: where,
    });
  }, START_SLOW_MS);
  try {
    for (;;) {
      try {
        // Not bot.init(): grammY retries a failed getMe there forever, silently.
        if (!bot.isInited()) bot.botInfo = await bot.api.getMe(grammySignal(signal));
        if (delayMs > START_RETRY_FIRST_MS) {
          logger.info('reached the Telegram Bot API', { apiRoot: where });
        }
        return;
      } catch (error) {
        if (signal?.aborted || !isUnreachable(error)) throw error;
        logger.error('cannot reach the Telegram Bot API; retrying', {
          apiRoot: where,
          error: networkFailure(error) ?? errorMessage(error),
          retryInSeconds: delayMs / 1000,
        });
        clearTimeout(slow);
        await abortableSleep(delayMs, signal);
        delayMs = Math.min(delayMs * 2, START_RETRY_MAX_MS);
      }
    }
  } finally {
    clearTimeout(slow);
  }
}

/**
 * Watches long polling's `getUpdates` calls: `failing` while the last one
 * could not reach Telegram, said once when that starts and once when it ends,
 * not every 3 s.
 */
export class PollingHealth {
  failing = false;

  constructor(
    private readonly logger: Logger,
    private readonly apiRoot: string | undefined,
  ) {}

  /** Installs the watch on `api` (an API transformer). */
  watch(api: Api): void {
    api.config.use(async (prev, method, payload, signal) => {
      try {
        const result = await prev(method, payload, signal);
        if (method === 'getUpdates') this.reached();
        return result;
      } catch (error) {
        if (method === 'getUpdates' && !signal?.aborted) this.failed(error);
        throw error;
      }
    });
  }

  private failed(error: unknown): void {
    if (this.failing || !isUnreachable(error)) return;
    this.failing = true;
    this.logger.error('cannot reach the Telegram Bot API (getUpdates); still trying', {
      apiRoot: apiRootForLog(this.apiRoot),
      error: networkFailure(error) ?? errorMessage(error),
    });
  }

  private reached(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.info('reached the Telegram Bot API again');
  }
}

/** Telegram cannot be reached for now, as opposed to refusing what was asked. */
function isUnreachable(error: unknown): boolean {
  if (error instanceof HttpError) return true;
  return error instanceof GrammyError && (error.error_code >= 500 || error.error_code === 429);
}
