import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { type ConversationRef, conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import type { StatusChannel } from '../../ports/channel.js';
import type { Logger } from '../../ports/logger.js';
import { TurnProgress } from './turn-progress.js';

export interface ProgressSettings {
  /** Quiet time before the status message appears, so quick answers don't flash one. */
  delayMs: number;
  /** Least time between two changes to the status message (Telegram's rate limits). */
  editIntervalMs: number;
  /** Activity lines shown under the heading, newest last. */
  maxLines: number;
  /** How long the end of a turn waits for the status message to go before the answer is sent. */
  finishWaitMs: number;
}

export const DEFAULT_PROGRESS: ProgressSettings = {
  delayMs: 3_000,
  editIntervalMs: 2_000,
  maxLines: 3,
  finishWaitMs: 2_000,
};

export interface ProgressMessageOptions {
  channel: StatusChannel;
  conversation: ConversationRef;
  settings: ProgressSettings;
  /** First line of the status message ("Working on it…"). */
  heading: string;
  /** What the status message says if it cannot be deleted at the end ("Done."). */
  done: string;
  logger: Logger;
  /**
   * A status message an earlier attempt of the same batch sent and never
   * removed (it crashed): taken over at once (edited, no delay) instead of
   * sending another, and removed at the end like one of our own.
   */
  existingId?: string | undefined;
  /** Called with the id once the status message is sent, before anything else happens to it (to record it durably). */
  onShown?: ((messageId: string) => Promise<void>) | undefined;
  /** Called once the status message is deleted (or marked done). */
  onRemoved?: (() => Promise<void>) | undefined;
}

/**
 * The one status message of a running turn: sent once the turn has run for
 * `delayMs`, edited (at most every `editIntervalMs`, and only when its text
 * changes) as the agent calls tools, and deleted when the turn ends, or,
 * if deleting fails, edited to a neutral "Done." so no stale "working"
 * message is left behind.
 *
 * Best effort throughout: every error is caught and logged, and nothing here
 * holds up the turn; only `finish()` is awaited, for at most `finishWaitMs`.
 * At most one call to the channel is in flight at a time.
 */
export class ProgressMessage {
  private readonly activity: TurnProgress;
  private delayTimer: NodeJS.Timeout | undefined;
  private cooldownTimer: NodeJS.Timeout | undefined;
  /** The delay has passed: the status message should be showing. */
  private due = false;
  private messageId: string | undefined;
  /** Text last sent (or last tried); an unchanged text is not sent again. */
  private shown: string | undefined;
  private inFlight: Promise<void> | undefined;
  /** Sending the status message failed: no more tries this turn. */
  private gaveUp = false;
  private finished: Promise<void> | undefined;

  constructor(private readonly options: ProgressMessageOptions) {
    this.activity = new TurnProgress(options.settings.maxLines);
    this.messageId = options.existingId;
  }

  /** Starts the delay; the status message appears when it passes, if the turn still runs. */
  start(): void {
    if (this.finished || this.delayTimer) return;
    if (this.messageId !== undefined) {
      // Already in the chat, saying whatever the crashed attempt last showed.
      this.due = true;
      this.update();
      return;
    }
    this.delayTimer = setTimeout(() => {
      this.delayTimer = undefined;
      this.due = true;
      this.update();
    }, this.options.settings.delayMs);
    this.delayTimer.unref?.();
  }

  /** Feeds one SDK message of the turn. Never throws. */
  onMessage(message: SDKMessage): void {
    if (this.finished) return;
    try {
      if (this.activity.add(message)) this.update();
    } catch (error) {
      this.options.logger.warn('turn progress failed', { error: errorMessage(error) });
    }
  }

  /** Shows a step of the worker's own (a download, a transcription) like a tool call. Never throws. */
  note(line: string): void {
    if (this.finished) return;
    if (this.activity.note(line)) this.update();
  }

  /**
   * Ends the display: stops the timers, waits for a call in flight, then
   * deletes the status message. Resolves once it is gone, or after
   * `finishWaitMs` (the removal then goes on in the background). Never rejects.
   */
  finish(): Promise<void> {
    if (!this.finished) {
      clearTimeout(this.delayTimer);
      clearTimeout(this.cooldownTimer);
      this.finished = this.remove();
    }
    return settleWithin(this.finished, this.options.settings.finishWaitMs);
  }

  private text(): string {
    return [this.options.heading, ...this.activity.lines().map((line) => `• ${line}`)].join('\n');
  }

  /** Shows the latest text unless it is too soon, a call is in flight, or nothing changed. */
  private update(): void {
    if (!this.due || this.finished || this.gaveUp || this.inFlight || this.cooldownTimer) return;
    const text = this.text();
    if (text === this.shown) return;
    this.shown = text;
    this.inFlight = this.show(text).finally(() => {
      this.inFlight = undefined;
      if (this.finished) return;
      // Whatever changed during the call or the cooldown is shown when the cooldown ends.
      this.cooldownTimer = setTimeout(() => {
        this.cooldownTimer = undefined;
        this.update();
      }, this.options.settings.editIntervalMs);
      this.cooldownTimer.unref?.();
    });
  }

  private async show(text: string): Promise<void> {
    const { channel, conversation, logger } = this.options;
    try {
      if (this.messageId === undefined) {
        this.messageId = await channel.sendStatus(conversation, text);
        await this.record(this.messageId);
      } else {
        await channel.editStatus(conversation, this.messageId, text);
      }
    } catch (error) {
      if (this.messageId === undefined) this.gaveUp = true;
      logger.warn('could not show turn progress', {
        conversationId: conversationId(conversation),
        action: this.messageId === undefined ? 'send' : 'edit',
        error: errorMessage(error),
      });
    }
  }

  private async remove(): Promise<void> {
    await this.inFlight;
    const id = this.messageId;
    if (id === undefined) return;
    const { channel, conversation, logger } = this.options;
    try {
      await channel.deleteStatus(conversation, id);
      await this.forget();
      return;
    } catch (error) {
      logger.warn('could not delete the progress message; marking it done', {
        conversationId: conversationId(conversation),
        error: errorMessage(error),
      });
    }
    try {
      await channel.editStatus(conversation, id, this.options.done);
      await this.forget();
    } catch (error) {
      logger.warn('could not mark the progress message done', {
        conversationId: conversationId(conversation),
        error: errorMessage(error),
      });
    }
  }

  private async record(id: string): Promise<void> {
    try {
      await this.options.onShown?.(id);
    } catch (error) {
      this.options.logger.warn('could not record the progress message', {
        conversationId: conversationId(this.options.conversation),
        error: errorMessage(error),
      });
    }
  }

  private async forget(): Promise<void> {
    try {
      await this.options.onRemoved?.();
    } catch (error) {
      this.options.logger.warn('could not forget the progress message', {
        conversationId: conversationId(this.options.conversation),
        error: errorMessage(error),
      });
    }
  }
}

/** Resolves when `promise` settles or after `ms`, whichever is first. */
async function settleWithin(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref?.();
  });
  try {
    await Promise.race([promise.catch(() => {}), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
