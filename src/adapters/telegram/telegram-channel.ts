import { type Api, GrammyError } from 'grammy';
import type { ConversationRef } from '../../domain/conversation.js';
import type { Channel, OutgoingPart, SendOptions } from '../../ports/channel.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import { formatPlain, formatReply, type TelegramMessagePart } from './format-reply.js';

/**
 * The Channel port on grammY's Bot API client. Parts are sent as HTML; if
 * Telegram refuses the markup ("can't parse entities"), the same part goes
 * out again as plain text, so an answer is never lost to a formatting slip.
 * Rate limits (429) and network hiccups are retried by the auto-retry plugin
 * installed on the Api; what still fails comes back to the worker's retries.
 * Status messages (a long turn's progress) are plain text sent silently,
 * edited in place and deleted when the answer is ready.
 */
export class TelegramChannel implements Channel {
  private readonly logger: Logger;

  constructor(
    private readonly api: Api,
    options: { logger?: Logger | undefined; partLimit?: number | undefined } = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.partLimit = options.partLimit;
  }

  private readonly partLimit: number | undefined;

  formatMarkdown(markdown: string): OutgoingPart[] {
    return formatReply(markdown, this.partLimit).map(toOutgoing);
  }

  formatPlain(text: string): OutgoingPart[] {
    return formatPlain(text, this.partLimit).map(toOutgoing);
  }

  async send(
    conversation: ConversationRef,
    part: OutgoingPart,
    options: SendOptions = {},
  ): Promise<void> {
    const { html, text } = fromOutgoing(part);
    const chatId = conversation.chatId;
    const common = {
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
    try {
      await this.api.sendMessage(chatId, html, { ...common, parse_mode: 'HTML' });
    } catch (error) {
      if (!isEntityError(error)) throw error;
      this.logger.warn('Telegram refused the formatting; sending plain text', {
        chatId,
        error: (error as GrammyError).description,
      });
      await this.api.sendMessage(chatId, text, common);
    }
  }

  async showTyping(conversation: ConversationRef): Promise<void> {
    await this.api.sendChatAction(conversation.chatId, 'typing', threadOf(conversation));
  }

  // Status messages are plain text (no parse mode, so no formatting errors) and silent.

  async sendStatus(conversation: ConversationRef, text: string): Promise<string> {
    const message = await this.api.sendMessage(conversation.chatId, text, {
      ...threadOf(conversation),
      disable_notification: true,
    });
    return String(message.message_id);
  }

  async editStatus(conversation: ConversationRef, messageId: string, text: string): Promise<void> {
    try {
      await this.api.editMessageText(conversation.chatId, Number(messageId), text);
    } catch (error) {
      // Already says this: nothing to do.
      if (error instanceof GrammyError && /message is not modified/i.test(error.description))
        return;
      throw error;
    }
  }

  async deleteStatus(conversation: ConversationRef, messageId: string): Promise<void> {
    await this.api.deleteMessage(conversation.chatId, Number(messageId));
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
