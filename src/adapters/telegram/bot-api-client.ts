import { autoRetry } from '@grammyjs/auto-retry';
import { Api, type ApiClientOptions, HttpError } from 'grammy';

/**
 * The Bot API client settings, written once for every grammY client here (the
 * local bot, the worker Lambda). Every call is bounded:
 *
 * - a request gets BOT_API_TIMEOUT_SECONDS (grammY's own default is 500 s);
 * - flood control (429 with a short `retry_after`) and 5xx answers are retried
 *   a few times by the auto-retry plugin, then surface as errors;
 * - network failures surface at once (`rethrowHttpErrors`): left to itself the
 *   plugin retries them forever, whatever `maxRetryAttempts` says, which held
 *   a send (and shutdown) for as long as Telegram was unreachable. The caller
 *   decides: the job queue retries the message, start-up waits and says so.
 *
 * Long polling waits LONG_POLL_SECONDS for updates, inside the request timeout.
 */
export const BOT_API_TIMEOUT_SECONDS = 30;
export const LONG_POLL_SECONDS = 20;
const MAX_RETRY_ATTEMPTS = 3;
const MAX_FLOOD_WAIT_SECONDS = 30;

export function botApiClientOptions(apiRoot?: string | undefined): ApiClientOptions {
  return { timeoutSeconds: BOT_API_TIMEOUT_SECONDS, ...(apiRoot ? { apiRoot } : {}) };
}

/** Installs the bounded retries on a grammY Api (`bot.api` included). */
export function boundRetries(api: Api): Api {
  api.config.use(
    autoRetry({
      maxRetryAttempts: MAX_RETRY_ATTEMPTS,
      maxDelaySeconds: MAX_FLOOD_WAIT_SECONDS,
      rethrowHttpErrors: true,
    }),
  );
  return api;
}

/** A grammY Api with the settings above: what the worker sends answers with. */
export function createBotApi(token: string, apiRoot?: string | undefined): Api {
  return boundRetries(new Api(token, botApiClientOptions(apiRoot)));
}

/**
 * What a failed call says about reaching Telegram, without the URL (it holds
 * the token): the network error's code (ECONNREFUSED, ...) when there is one.
 */
export function networkFailure(error: unknown): string | undefined {
  if (!(error instanceof HttpError)) return undefined;
  const cause = error.error as
    | { code?: unknown; message?: unknown; cause?: { code?: unknown } }
    | undefined;
  const code = cause?.code ?? cause?.cause?.code;
  if (typeof code === 'string') return `${error.message} (${code})`;
  // grammY's own timeout: "Request to 'getMe' timed out after 30 seconds".
  if (typeof cause?.message === 'string' && /timed out/.test(cause.message)) return cause.message;
  return error.message;
}

/** The signal type grammY's methods declare (the `abort-controller` shim's). */
export type GrammySignal = Parameters<Api['getMe']>[0];

/**
 * A platform AbortSignal as grammY's: the types differ, the behaviour does not
 * (grammY only listens for `abort` on it).
 */
export function grammySignal(signal: AbortSignal | undefined): GrammySignal {
  return signal as unknown as GrammySignal;
}
