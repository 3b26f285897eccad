import type { ConversationRef } from '../../domain/conversation.js';
import type { Channel, OutgoingPart, SendOptions } from '../../ports/channel.js';
import { texts } from '../../texts/en.js';
import { BotApiError, type BotApiLite } from './bot-api-lite.js';
import { sendParameters, threadOf } from './send-parameters.js';
import { splitTelegramHtml, TELEGRAM_MESSAGE_LIMIT } from './split-telegram-html.js';
import { escapeHtml, htmlToPlainText } from './telegram-html.js';

/** format-reply.ts's DEFAULT_PART_LIMIT: a margin under Telegram's limit. */
const PART_LIMIT = TELEGRAM_MESSAGE_LIMIT - 96;

/**
 * The Channel port on BotApiLite (plain `fetch`), for the ingress Lambda,
 * which answers control messages (`/status`, help, refusals, ...) itself and
 * must stay free of grammY. Delivery is the same as TelegramChannel's where
 * the core needs it for exactly-once answers (a placeholder, recorded, then
 * edited into); it has no status messages, files or retries of its own: a
 * failed call fails the webhook request, and Telegram sends the update again.
 */
export class LiteTelegramChannel implements Channel {
  constructor(private readonly api: Pick<BotApiLite, 'call'>) {}

  /**
   * Shown as typed: the ingress only sends answers it composes (plain), and
   * leaving the Markdown renderer out keeps its bundle and cold start small.
   */
  formatMarkdown(markdown: string): OutgoingPart[] {
    return this.formatPlain(markdown);
  }

  /** As TelegramChannel's (format-reply.ts), without importing the Markdown renderer. */
  formatPlain(text: string): OutgoingPart[] {
    return splitTelegramHtml(escapeHtml(text), PART_LIMIT).map((html) => ({
      html,
      text: htmlToPlainText(html),
    }));
  }

  async send(
    conversation: ConversationRef,
    part: OutgoingPart,
    options: SendOptions = {},
  ): Promise<void> {
    const { html, text } = partOf(part);
    const common = { chat_id: conversation.chatId, ...sendParameters(conversation, options) };
    try {
      await this.api.call('sendMessage', { ...common, text: html, parse_mode: 'HTML' });
    } catch (error) {
      if (!isEntityError(error)) throw error;
      await this.api.call('sendMessage', { ...common, text });
    }
  }

  async sendPlaceholder(conversation: ConversationRef, options: SendOptions = {}): Promise<string> {
    const sent = (await this.api.call('sendMessage', {
      chat_id: conversation.chatId,
      ...sendParameters(conversation, options),
      text: escapeHtml(texts.answerPlaceholder),
      parse_mode: 'HTML',
    })) as { message_id?: unknown };
    if (typeof sent?.message_id !== 'number') {
      throw new BotApiError('sendMessage: unexpected answer');
    }
    return String(sent.message_id);
  }

  async editPart(
    conversation: ConversationRef,
    messageId: string,
    part: OutgoingPart,
  ): Promise<'edited' | 'missing'> {
    const { html, text } = partOf(part);
    const edit = async (body: Record<string, unknown>) => {
      try {
        await this.api.call('editMessageText', {
          chat_id: conversation.chatId,
          message_id: Number(messageId),
          ...body,
        });
        return 'edited' as const;
      } catch (error) {
        if (described(error, /message is not modified/i)) return 'edited' as const;
        if (described(error, /message to edit not found/i)) return 'missing' as const;
        throw error;
      }
    };
    try {
      return await edit({ text: html, parse_mode: 'HTML' });
    } catch (error) {
      if (!isEntityError(error)) throw error;
      return edit({ text });
    }
  }

  async showTyping(conversation: ConversationRef): Promise<void> {
    await this.api.call('sendChatAction', {
      chat_id: conversation.chatId,
      action: 'typing',
      ...threadOf(conversation),
    });
  }

  isPermanentFailure(error: unknown): boolean {
    if (!BotApiError.isInstance(error)) return false;
    if (error.errorCode === 403) return true;
    return (
      error.errorCode === 400 &&
      described(
        error,
        /chat not found|thread not found|topic_closed|topic_deleted|not enough rights|have no rights|user is deactivated/i,
      )
    );
  }
}

function partOf(part: OutgoingPart): { html: string; text: string } {
  const { html, text } = part;
  if (typeof html !== 'string' || typeof text !== 'string') {
    throw new TypeError('not a Telegram message part (expected html and text)');
  }
  return { html, text };
}

function described(error: unknown, pattern: RegExp): boolean {
  return BotApiError.isInstance(error) && pattern.test(error.description ?? '');
}

function isEntityError(error: unknown): boolean {
  return (
    BotApiError.isInstance(error) &&
    error.errorCode === 400 &&
    described(error, /can't parse entities|can't find end|unsupported start tag|entity/i)
  );
}
