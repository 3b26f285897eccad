import type { Ingress } from '../../core/pipeline/ingress.js';
import type { AccessPolicy } from '../../domain/access-policy.js';
import { errorMessage } from '../../domain/errors.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import type { EnqueueResult } from '../../ports/job-queue.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import { type BotIdentity, normalizeUpdate } from './normalize-update.js';

/** What a pressed button of an earlier version of the bot answers. */
export const STALE_BUTTON_TEXT = 'This button no longer does anything.';

/**
 * The Bot API calls the intake makes itself. Small, so that the ingress
 * Lambda serves it with `fetch` (BotApiLite) and the local bot with grammY.
 */
export interface IntakeBotApi {
  answerCallbackQuery(callbackQueryId: string, text: string): Promise<unknown>;
}

export interface UpdateIntakeOptions {
  tenant: string;
  access: AccessPolicy;
  /** The core's end of ingress, or a wrapper of it (the local bot retries a busy database). */
  ingress: Pick<Ingress, 'accept'>;
  api: IntakeBotApi;
  /** The bot's own identity (`getMe`): which mentions, replies and commands are for it. */
  identity: () => BotIdentity;
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
  /**
   * Answer stale buttons without waiting for Telegram. The local bot does:
   * grammY takes polled updates one at a time, and its auto-retry may sit out
   * flood control. A Lambda must not: it is frozen once it has answered.
   */
  answerInBackground?: boolean | undefined;
}

/** What became of an update; the caller logs it and acknowledges it. */
export type IntakeOutcome =
  | { action: 'ignored'; updateId: number | undefined; reason: string }
  | { action: EnqueueResult; updateId: number | undefined; message: InboundMessage };

/**
 * The one Telegram update intake, for every platform: normalise the update
 * (access policy included), answer a button nothing handles, hand the message
 * to the core Ingress. No grammY, no I/O but the calls it is given, so the
 * ingress Lambda stays small and the local bot decides the same way.
 */
export class UpdateIntake {
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly options: UpdateIntakeOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  /**
   * Takes one raw update. Rejects when the message could not be stored: the
   * update must then not be confirmed, so that Telegram delivers it again.
   */
  async take(update: unknown): Promise<IntakeOutcome> {
    const updateId = updateIdOf(update);
    const normalized = normalizeUpdate(update, {
      bot: this.options.identity(),
      tenant: this.options.tenant,
      access: this.options.access,
      now: this.now(),
    });
    if (normalized.action === 'ignore') {
      const answering = this.answerStaleButton(update);
      if (!this.options.answerInBackground) await answering;
      return { action: 'ignored', updateId, reason: normalized.reason };
    }
    if (normalized.refused) {
      this.logger.warn('refused a user not on the allowlist', normalized.refused);
    }
    const result = await this.options.ingress.accept(normalized.message);
    return { action: result, updateId, message: normalized.message };
  }

  /**
   * A button on a message from an earlier version of the bot spins until
   * answered; answer it so the person is not left waiting. Best effort: never rejects.
   */
  private async answerStaleButton(update: unknown): Promise<void> {
    const id = callbackQueryIdOf(update);
    if (id === undefined) return;
    try {
      await this.options.api.answerCallbackQuery(id, STALE_BUTTON_TEXT);
    } catch (error) {
      this.logger.debug('answerCallbackQuery failed', { error: errorMessage(error) });
    }
  }
}

function updateIdOf(update: unknown): number | undefined {
  const id = (update as { update_id?: unknown } | null)?.update_id;
  return typeof id === 'number' ? id : undefined;
}

function callbackQueryIdOf(update: unknown): string | undefined {
  const query = (update as { callback_query?: { id?: unknown } } | null)?.callback_query;
  return typeof query?.id === 'string' ? query.id : undefined;
}
