import type { ConversationRef } from '../../domain/conversation.js';

/** What of a Telegram message says which conversation it belongs to. */
interface MessagePlace {
  chat: { id: number };
  message_thread_id?: number | undefined;
  is_topic_message?: boolean | undefined;
}

/**
 * The conversation of a Telegram message (one sent to the bot, or one whose
 * button was pressed): its chat and, in a forum, its topic. Only forum topics
 * split a chat; in other supergroups the thread id of a reply chain is not a
 * separate conversation.
 */
export function telegramConversation(tenant: string, message: MessagePlace): ConversationRef {
  return {
    tenant,
    channel: 'telegram',
    chatId: String(message.chat.id),
    ...(message.is_topic_message && message.message_thread_id !== undefined
      ? { threadId: String(message.message_thread_id) }
      : {}),
  };
}
