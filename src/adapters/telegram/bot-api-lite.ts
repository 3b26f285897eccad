import { AgentError } from '../../domain/errors.js';
import type { BotIdentity } from './normalize-update.js';
import type { IntakeBotApi } from './update-intake.js';

/**
 * The Bot API calls the ingress Lambda makes, on plain `fetch`: its
 * bundle stays free of grammY, and its cold start small. Everything that
 * sends answers (the worker, the local bot) uses grammY instead.
 */

const TELEGRAM_API_ROOT = 'https://api.telegram.org';

export class BotApiError extends AgentError {
  static override readonly errorName = 'BotApiError';
  constructor(
    message: string,
    /** Telegram's `error_code` and `description`, when it answered. */
    readonly errorCode?: number | undefined,
    readonly description?: string | undefined,
  ) {
    super(message);
  }
}

export interface BotApiLite extends IntakeBotApi {
  getMe(): Promise<BotIdentity>;
  answerCallbackQuery(callbackQueryId: string, text: string): Promise<void>;
  /**
   * Any other method, with its parameters as Telegram names them; resolves
   * with its `result`. The ingress answers control messages with
   * sendMessage and editMessageText (lite-channel.ts).
   */
  call(method: string, params: Record<string, unknown>): Promise<unknown>;
}

export function botApiLite(options: {
  token: string;
  apiRoot?: string | undefined;
  timeoutMs?: number | undefined;
}): BotApiLite {
  const root = (options.apiRoot ?? TELEGRAM_API_ROOT).replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 5_000;
  const call = async (method: string, params: Record<string, unknown>): Promise<unknown> => {
    let response: Response;
    try {
      response = await fetch(`${root}/bot${options.token}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      // The URL holds the token; say what failed without it.
      throw new BotApiError(`${method}: ${error instanceof Error ? error.name : 'request failed'}`);
    }
    const body = (await response.json().catch(() => null)) as {
      ok?: boolean;
      result?: unknown;
      description?: string;
      error_code?: number;
    } | null;
    if (!body?.ok) {
      throw new BotApiError(
        `${method}: ${response.status} ${body?.description ?? response.statusText}`,
        body?.error_code ?? response.status,
        body?.description,
      );
    }
    return body.result;
  };
  return {
    call,
    async getMe() {
      const me = (await call('getMe', {})) as { id?: unknown; username?: unknown };
      if (typeof me.id !== 'number' || typeof me.username !== 'string') {
        throw new BotApiError('getMe: unexpected answer');
      }
      return { id: me.id, username: me.username };
    },
    async answerCallbackQuery(id, text) {
      await call('answerCallbackQuery', { callback_query_id: id, text });
    },
  };
}
