import type { Ingress } from '../../core/pipeline/ingress.js';
import type { AccessPolicy } from '../../domain/access-policy.js';
import { errorMessage } from '../../domain/errors.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import type { AlbumGate } from '../../ports/album-gate.js';
import type { EnqueueResult } from '../../ports/job-queue.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { QuestionAnswers } from '../../ports/question-store.js';
import type { RefusalLimiter } from '../../ports/refusal-limiter.js';
import { texts } from '../../texts/en.js';
import { MemoryRefusalLimiter } from '../memory/memory-refusal-limiter.js';
import { heldAlbumItems, unaddressedAlbumItem } from './album-intake.js';
import { recordPress } from './button-press-intake.js';
import { type BotIdentity, normalizeUpdate, type Refusal } from './normalize-update.js';
import { parseButtonPress } from './question-buttons.js';

/** What a pressed button of an earlier version of the bot answers. */
export const STALE_BUTTON_TEXT = texts.staleButton;

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
   * How often a refused person is answered (once, then silence for a while).
   * Default: in memory, per process; the ingress Lambda shares one in DynamoDB.
   */
  refusals?: RefusalLimiter | undefined;
  /**
   * Answer stale buttons without waiting for Telegram. The local bot does:
   * grammY takes polled updates one at a time, and its auto-retry may sit out
   * flood control. A Lambda must not: it is frozen once it has answered.
   */
  answerInBackground?: boolean | undefined;
  /**
   * Where presses of question buttons are recorded for the waiting turn
   * (button-press-intake.ts). Without it every button is answered as stale.
   */
  questions?: QuestionAnswers | undefined;
  /**
   * Albums in groups (album-intake.ts): the items of an album one item of
   * which was for the bot are taken too. Without it only that item is.
   */
  albums?: AlbumGate | undefined;
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
  private readonly refusals: RefusalLimiter;

  constructor(private readonly options: UpdateIntakeOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.refusals = options.refusals ?? new MemoryRefusalLimiter({ now: this.now });
  }

  /**
   * Takes one raw update. Rejects when the message could not be stored: the
   * update must then not be confirmed, so that Telegram delivers it again.
   */
  async take(update: unknown): Promise<IntakeOutcome> {
    const updateId = updateIdOf(update);
    const { questions } = this.options;
    const press =
      questions &&
      parseButtonPress(update, {
        tenant: this.options.tenant,
        access: this.options.access,
        botId: this.options.identity().id,
      });
    if (questions && press) {
      const { result, note } = await recordPress(press, questions, this.logger);
      const answering = this.answerButton(press.callbackQueryId, note);
      if (!this.options.answerInBackground) await answering;
      return { action: 'ignored', updateId, reason: `question button: ${result}` };
    }
    const context = {
      bot: this.options.identity(),
      tenant: this.options.tenant,
      access: this.options.access,
      now: this.now(),
    };
    let normalized = normalizeUpdate(update, context);
    const { albums } = this.options;
    // An item taken because its album was admitted: the album's held items went with that one.
    let passedAlbumItem = false;
    if (normalized.action === 'ignore' && albums) {
      const item = await unaddressedAlbumItem(update, albums, () =>
        normalizeUpdate(update, { ...context, addressed: true }),
      );
      if (item === 'held') return { action: 'ignored', updateId, reason: 'album item held back' };
      if (item) normalized = { action: 'enqueue', message: item };
      passedAlbumItem = item !== undefined;
    }
    if (normalized.action === 'ignore') {
      // A button of an earlier version of the bot spins until answered.
      const id = callbackQueryIdOf(update);
      if (id !== undefined) {
        const answering = this.answerButton(id, STALE_BUTTON_TEXT);
        if (!this.options.answerInBackground) await answering;
      }
      return { action: 'ignored', updateId, reason: normalized.reason };
    }
    if (normalized.refused && !(await this.answersRefusal(normalized.refused))) {
      return { action: 'ignored', updateId, reason: 'refused again within the quiet period' };
    }
    if (albums && !normalized.refused && !passedAlbumItem) {
      for (const held of await heldAlbumItems(normalized.message, albums)) {
        await this.options.ingress.accept(held);
      }
    }
    const result = await this.options.ingress.accept(normalized.message);
    return { action: result, updateId, message: normalized.message };
  }

  /**
   * Logs a refusal with what the operator needs to let the person in (the
   * stranger's chat gets only their user id), and says whether to answer it.
   */
  private async answersRefusal(refused: Refusal): Promise<boolean> {
    const answered = await this.refusals.claim(`${this.options.tenant}:telegram:${refused.userId}`);
    this.logger[answered ? 'warn' : 'debug']('refused a user not on the allowlist', {
      ...refused,
      answered,
      toAllow:
        refused.chatType === 'group'
          ? `add ${refused.userId} to TELEGRAM_ALLOWED_USER_IDS, or the chat ${refused.chatId} to TELEGRAM_ALLOWED_CHAT_IDS, and restart`
          : `add ${refused.userId} to TELEGRAM_ALLOWED_USER_IDS and restart`,
    });
    return answered;
  }

  /** Stops a button's spinner with `text`, so the person is not left waiting. Best effort: never rejects. */
  private async answerButton(callbackQueryId: string, text: string): Promise<void> {
    try {
      await this.options.api.answerCallbackQuery(callbackQueryId, text);
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
