import { type Api, GrammyError } from 'grammy';
import type { ConversationRef } from '../../domain/conversation.js';
import type { Channel, OutgoingPart, SendOptions } from '../../ports/channel.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import { texts } from '../../texts/en.js';
import { type GrammySignal, grammySignal } from './bot-api-client.js';
import {
  DEFAULT_PART_LIMIT,
  formatPlain,
  formatReply,
  type TelegramMessagePart,
} from './format-reply.js';

/**
 * The most messages one answer becomes: about 16,000 characters (four of
 * Telegram's 4,096-character messages), more than any answer meant for chat.
 * Longer ones are cut with a note (texts.answerCut).
 */
export const MAX_ANSWER_PARTS = 4;

/**
 * The Channel port on grammY's Bot API client. Parts are sent as HTML; if
 * Telegram refuses the markup ("can't parse entities"), the same part goes
 * out again as plain text, so an answer is never lost to a formatting slip.
 * Every call is bounded (bot-api-client.ts: timeout, a few retries of 429 and
 * 5xx); what still fails comes back to the worker's retries. The `signal`
 * given at construction (the process shutting down) aborts calls in flight,
 * so a send to an unreachable Telegram never holds up a shutdown.
 * Status messages (a long turn's progress) are plain text sent silently,
 * edited in place and deleted when the answer is ready. Answers are written
 * into placeholders by edits (`sendPlaceholder`, `editPart`), so a part
 * delivered again after a crash is never shown twice: sendMessage has no
 * idempotency key, editMessageText to the same text changes nothing.
 */
export class TelegramChannel implements Channel {
  private readonly logger: Logger;
  private readonly partLimit: number | undefined;
  private readonly maxParts: number;
  private readonly signal: GrammySignal;

  constructor(
    private readonly api: Api,
    options: {
      logger?: Logger | undefined;
      partLimit?: number | undefined;
      /** Most messages one answer becomes (see MAX_ANSWER_PARTS). */
      maxParts?: number | undefined;
      /** Aborts every Bot API call in flight (shutdown). */
      signal?: AbortSignal | undefined;
    } = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.partLimit = options.partLimit;
    this.maxParts = Math.max(2, options.maxParts ?? MAX_ANSWER_PARTS);
    this.signal = grammySignal(options.signal);
  }

  formatMarkdown(markdown: string): OutgoingPart[] {
    return this.capped(markdown, (head) => formatReply(head, this.partLimit)).map(toOutgoing);
  }

  formatPlain(text: string): OutgoingPart[] {
    return this.capped(text, (head) => formatPlain(head, this.partLimit)).map(toOutgoing);
  }

  /**
   * An answer longer than `maxParts` messages keeps its first `maxParts - 1`
   * and ends with a note that it was cut: a runaway answer (an echo of a huge
   * paste) must not become a thousand messages. Sending it as a file instead
   * is for later.
   */
  private capped(
    source: string,
    format: (head: string) => TelegramMessagePart[],
  ): TelegramMessagePart[] {
    // Rendering megabytes to keep a few messages is wasted work: render a
    // generous head only (markup makes a part hold fewer source characters,
    // never more than twice as few).
    const headLimit = 2 * this.maxParts * (this.partLimit ?? DEFAULT_PART_LIMIT);
    const parts = format(source.length > headLimit ? source.slice(0, headLimit) : source);
    if (parts.length <= this.maxParts) return parts;
    const kept = parts.slice(0, this.maxParts - 1);
    const shown = kept.reduce((sum, part) => sum + part.text.length, 0);
    this.logger.warn('cut an answer too long for chat', {
      chars: source.length,
      shownChars: shown,
      parts: kept.length,
    });
    return [...kept, ...formatPlain(texts.answerCut(shown, source.length), this.partLimit)];
  }

  async send(
    conversation: ConversationRef,
    part: OutgoingPart,
    options: SendOptions = {},
  ): Promise<void> {
    const { html, text } = fromOutgoing(part);
    const chatId = conversation.chatId;
    const common = sendParameters(conversation, options);
    try {
      await this.api.sendMessage(chatId, html, { ...common, parse_mode: 'HTML' }, this.signal);
    } catch (error) {
      if (!isEntityError(error)) throw error;
      this.logger.warn('Telegram refused the formatting; sending plain text', {
        chatId,
        error: (error as GrammyError).description,
      });
      await this.api.sendMessage(chatId, text, common, this.signal);
    }
  }

  /**
   * Sends the message a part is then edited into. Sent as HTML like the part
   * itself, with the notification (an edit notifies nobody), and as the reply
   * where the part would be one (an edit cannot add a reply).
   */
  async sendPlaceholder(conversation: ConversationRef, options: SendOptions = {}): Promise<string> {
    const message = await this.api.sendMessage(
      conversation.chatId,
      escapeHtml(texts.answerPlaceholder),
      { ...sendParameters(conversation, options), parse_mode: 'HTML' },
      this.signal,
    );
    return String(message.message_id);
  }

  /**
   * Edits a part into a placeholder, as HTML with the same plain-text fallback
   * as `send`. Telegram's "message is not modified" means an earlier attempt
   * already wrote this part there: done.
   */
  async editPart(
    conversation: ConversationRef,
    messageId: string,
    part: OutgoingPart,
  ): Promise<'edited' | 'missing'> {
    const { html, text } = fromOutgoing(part);
    const chatId = conversation.chatId;
    const edit = async (body: string, parseMode: 'HTML' | undefined) => {
      try {
        await this.api.editMessageText(
          chatId,
          Number(messageId),
          body,
          parseMode ? { parse_mode: parseMode } : {},
          this.signal,
        );
        return 'edited' as const;
      } catch (error) {
        if (isNotModified(error)) return 'edited' as const;
        if (error instanceof GrammyError && /message to edit not found/i.test(error.description))
          return 'missing' as const;
        throw error;
      }
    };
    try {
      return await edit(html, 'HTML');
    } catch (error) {
      if (!isEntityError(error)) throw error;
      this.logger.warn('Telegram refused the formatting; editing in plain text', {
        chatId,
        error: (error as GrammyError).description,
      });
      return edit(text, undefined);
    }
  }

  async showTyping(conversation: ConversationRef): Promise<void> {
    await this.api.sendChatAction(
      conversation.chatId,
      'typing',
      threadOf(conversation),
      this.signal,
    );
  }

  // Status messages are plain text (no parse mode, so no formatting errors) and silent.

  async sendStatus(conversation: ConversationRef, text: string): Promise<string> {
    const message = await this.api.sendMessage(
      conversation.chatId,
      text,
      { ...threadOf(conversation), disable_notification: true },
      this.signal,
    );
    return String(message.message_id);
  }

  async editStatus(conversation: ConversationRef, messageId: string, text: string): Promise<void> {
    try {
      await this.api.editMessageText(
        conversation.chatId,
        Number(messageId),
        text,
        undefined,
        this.signal,
      );
    } catch (error) {
      // Already says this: nothing to do.
      if (isNotModified(error)) return;
      throw error;
    }
  }

  async deleteStatus(conversation: ConversationRef, messageId: string): Promise<void> {
    await this.api.deleteMessage(conversation.chatId, Number(messageId), this.signal);
  }

  isPermanentFailure(error: unknown): boolean {
    if (!(error instanceof GrammyError)) return false;
    // Blocked by the user, kicked from the group, chat deleted.
    if (error.error_code === 403) return true;
    return (
      error.error_code === 400 &&
      /chat not found|thread not found|topic_closed|topic_deleted|not enough rights|have no rights|user is deactivated/i.test(
        error.description,
      )
    );
  }
}

/** Forum topics: the thread a message belongs in. */
function threadOf(conversation: ConversationRef): { message_thread_id?: number } {
  return conversation.threadId ? { message_thread_id: Number(conversation.threadId) } : {};
}

function sendParameters(
  conversation: ConversationRef,
  options: SendOptions,
): {
  message_thread_id?: number;
  reply_parameters?: { message_id: number; allow_sending_without_reply: boolean };
} {
  return {
    ...threadOf(conversation),
    ...(options.replyTo
      ? {
          reply_parameters: {
            message_id: Number(options.replyTo),
            allow_sending_without_reply: true,
          },
        }
      : {}),
  };
}

function isNotModified(error: unknown): boolean {
  return error instanceof GrammyError && /message is not modified/i.test(error.description);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function isEntityError(error: unknown): boolean {
  return (
    error instanceof GrammyError &&
    error.error_code === 400 &&
    /can't parse entities|can't find end|unsupported start tag|entity/i.test(error.description)
  );
}

function toOutgoing(part: TelegramMessagePart): OutgoingPart {
  return { html: part.html, text: part.text };
}

function fromOutgoing(part: OutgoingPart): TelegramMessagePart {
  const { html, text } = part;
  if (typeof html !== 'string' || typeof text !== 'string') {
    throw new TypeError('not a Telegram message part (expected html and text)');
  }
  return { html, text };
}
