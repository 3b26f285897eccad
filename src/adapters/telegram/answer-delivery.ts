import { type Api, GrammyError } from 'grammy';
import type { ConversationRef } from '../../domain/conversation.js';
import type { OutgoingPart, SendOptions } from '../../ports/channel.js';
import type { Logger } from '../../ports/logger.js';
import { texts } from '../../texts/en.js';
import { fromOutgoing, toOutgoing } from './answer-parts.js';
import type { GrammySignal } from './bot-api-client.js';
import { formatReply } from './format-reply.js';
import { isMethodMissing, isRichContentRejected, isRichPart } from './rich-messages.js';
import { sendParameters } from './send-parameters.js';
import { isEditTargetMissing, isEntityError, isNotModified } from './telegram-errors.js';
import { escapeHtml } from './telegram-html.js';

/**
 * Answer parts into a chat. Parts are sent as HTML; if Telegram refuses the
 * markup ("can't parse entities"), the same part goes out again as plain
 * text, so an answer is never lost to a formatting slip. Answers are written
 * into placeholders by edits (`sendPlaceholder`, `editPart`), so a part
 * delivered again after a crash is never shown twice: sendMessage has no
 * idempotency key, editMessageText to the same text changes nothing.
 *
 * Answers in Markdown go as rich messages (rich-messages.ts) unless the Bot
 * API does not know them: an older self-hosted server answers 404, and from
 * then on this channel renders HTML as before. That is remembered here, in
 * memory, and that is enough: a process (or Lambda container) talks to one
 * Bot API server, so a new one pays for at most one failed call, and an
 * upgraded server is used fully after the next start. A rich message that
 * Telegram refuses for its content falls back to HTML for that part only.
 * A rich part is edited into a rich placeholder (editMessageText takes rich
 * content), so delivery stays exactly-once; the fallback's HTML goes into the
 * same placeholder.
 */
export class AnswerDelivery {
  /** Rich messages work here, as far as we know (see the class comment). */
  private rich: boolean;

  constructor(
    private readonly api: Api,
    private readonly options: {
      logger: Logger;
      signal: GrammySignal;
      partLimit: number | undefined;
      richMessages: boolean;
    },
  ) {
    this.rich = options.richMessages;
  }

  /** Whether Markdown answers go as rich messages (false once the Bot API proved it has none). */
  get richMessages(): boolean {
    return this.rich;
  }

  async send(
    conversation: ConversationRef,
    part: OutgoingPart,
    options: SendOptions = {},
  ): Promise<void> {
    if (isRichPart(part)) return this.sendRich(conversation, part, options);
    const { html, text } = fromOutgoing(part);
    const chatId = conversation.chatId;
    const common = sendParameters(conversation, options);
    try {
      await this.api.sendMessage(
        chatId,
        html,
        { ...common, parse_mode: 'HTML' },
        this.options.signal,
      );
    } catch (error) {
      if (!isEntityError(error)) throw error;
      this.options.logger.warn('Telegram refused the formatting; sending plain text', {
        chatId,
        error: (error as GrammyError).description,
      });
      await this.api.sendMessage(chatId, text, common, this.options.signal);
    }
  }

  /**
   * Sends the message a part is then edited into. Sent as HTML like the part
   * itself, with the notification (an edit notifies nobody), and as the reply
   * where the part would be one (an edit cannot add a reply).
   */
  async sendPlaceholder(conversation: ConversationRef, options: SendOptions = {}): Promise<string> {
    const rich = options.part && isRichPart(options.part) && this.rich;
    if (rich) {
      const id = await this.richPlaceholder(conversation, options);
      if (id !== undefined) return id;
    }
    const message = await this.api.sendMessage(
      conversation.chatId,
      escapeHtml(texts.answerPlaceholder),
      { ...sendParameters(conversation, options), parse_mode: 'HTML' },
      this.options.signal,
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
  ): Promise<'edited' | 'missing' | 'fallback'> {
    if (isRichPart(part)) return this.editRich(conversation, messageId, part);
    const { html, text } = fromOutgoing(part);
    const chatId = conversation.chatId;
    const edit = async (body: string, parseMode: 'HTML' | undefined) => {
      try {
        await this.api.editMessageText(
          chatId,
          Number(messageId),
          body,
          parseMode ? { parse_mode: parseMode } : {},
          this.options.signal,
        );
        return 'edited' as const;
      } catch (error) {
        if (isNotModified(error)) return 'edited' as const;
        if (isEditTargetMissing(error)) return 'missing' as const;
        throw error;
      }
    };
    try {
      return await edit(html, 'HTML');
    } catch (error) {
      if (!isEntityError(error)) throw error;
      this.options.logger.warn('Telegram refused the formatting; editing in plain text', {
        chatId,
        error: (error as GrammyError).description,
      });
      return edit(text, undefined);
    }
  }

  /** Sends a rich part; if rich messages fail, the part's HTML rendering, message by message. */
  private async sendRich(
    conversation: ConversationRef,
    part: { markdown: string },
    options: SendOptions,
  ): Promise<void> {
    if (this.rich) {
      try {
        await this.api.sendRichMessage(
          conversation.chatId,
          { markdown: part.markdown },
          sendParameters(conversation, options),
          this.options.signal,
        );
        return;
      } catch (error) {
        if (!this.richFailed(error, conversation)) throw error;
      }
    }
    // No placeholders on this path, so no exactly-once to keep: every piece is sent.
    for (const [index, piece] of formatReply(part.markdown, this.options.partLimit).entries()) {
      await this.send(conversation, toOutgoing(piece), index === 0 ? options : {});
    }
  }

  /** A rich placeholder ("…"), or undefined when the Bot API has no rich messages. */
  private async richPlaceholder(
    conversation: ConversationRef,
    options: SendOptions,
  ): Promise<string | undefined> {
    try {
      const message = await this.api.sendRichMessage(
        conversation.chatId,
        { markdown: texts.answerPlaceholder },
        sendParameters(conversation, options),
        this.options.signal,
      );
      return String(message.message_id);
    } catch (error) {
      if (isMethodMissing(error)) {
        this.richFailed(error, conversation);
        return undefined;
      }
      throw error;
    }
  }

  /** Edits a rich part into its placeholder; `fallback` if rich messages do not work for it. */
  private async editRich(
    conversation: ConversationRef,
    messageId: string,
    part: { markdown: string },
  ): Promise<'edited' | 'missing' | 'fallback'> {
    if (!this.rich) return 'fallback';
    try {
      await this.api.editMessageText(
        conversation.chatId,
        Number(messageId),
        { markdown: part.markdown },
        {},
        this.options.signal,
      );
      return 'edited';
    } catch (error) {
      if (isNotModified(error)) return 'edited';
      if (isEditTargetMissing(error)) return 'missing';
      if (this.richFailed(error, conversation)) return 'fallback';
      throw error;
    }
  }

  /**
   * True when a rich call failed in a way HTML can do better: the method is
   * unknown (remembered: no rich messages from now on) or the content was
   * refused (this part only).
   */
  private richFailed(error: unknown, conversation: ConversationRef): boolean {
    const description = error instanceof GrammyError ? error.description : String(error);
    if (isMethodMissing(error)) {
      this.options.logger.warn('the Bot API has no rich messages; answers go as HTML from now on', {
        error: description,
      });
      this.rich = false;
      return true;
    }
    if (isRichContentRejected(error)) {
      this.options.logger.warn('Telegram refused a rich message; sending it as HTML', {
        chatId: conversation.chatId,
        error: description,
      });
      return true;
    }
    return false;
  }
}
