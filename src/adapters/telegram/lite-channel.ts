import type { ConversationRef } from '../../domain/conversation.js';
import type { Channel, OutgoingPart, SendOptions } from '../../ports/channel.js';
import { texts } from '../../texts/en.js';
import { fromOutgoing, toOutgoing } from './answer-parts.js';
import {
  EDIT_TARGET_MISSING,
  ENTITY_REFUSED,
  isPermanent,
  NOT_MODIFIED,
} from './bot-api-failures.js';
import { BotApiError, type BotApiLite } from './bot-api-lite.js';
import { formatPlain } from './format-plain.js';
import { sendParameters, threadOf } from './send-parameters.js';
import { escapeHtml } from './telegram-html.js';

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

  /** As TelegramChannel's, without cutting a long text into a file (the ingress composes short ones). */
  formatPlain(text: string): OutgoingPart[] {
    return formatPlain(text).map(toOutgoing);
  }

  async send(
    conversation: ConversationRef,
    part: OutgoingPart,
    options: SendOptions = {},
  ): Promise<void> {
    const { html, text } = fromOutgoing(part);
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
    const { html, text } = fromOutgoing(part);
    const edit = async (body: Record<string, unknown>) => {
      try {
        await this.api.call('editMessageText', {
          chat_id: conversation.chatId,
          message_id: Number(messageId),
          ...body,
        });
        return 'edited' as const;
      } catch (error) {
        if (described(error, NOT_MODIFIED)) return 'edited' as const;
        if (described(error, EDIT_TARGET_MISSING)) return 'missing' as const;
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
    return BotApiError.isInstance(error) && isPermanent(error.errorCode, error.description ?? '');
  }
}

function described(error: unknown, pattern: RegExp): boolean {
  return BotApiError.isInstance(error) && pattern.test(error.description ?? '');
}

function isEntityError(error: unknown): boolean {
  return (
    BotApiError.isInstance(error) && error.errorCode === 400 && described(error, ENTITY_REFUSED)
  );
}
