import type { ConversationRef } from '../../domain/conversation.js';
import type { SendOptions } from '../../ports/channel.js';

/** Forum topics: the thread a message belongs in. */
export function threadOf(conversation: ConversationRef): { message_thread_id?: number } {
  return conversation.threadId ? { message_thread_id: Number(conversation.threadId) } : {};
}

/**
 * Where a sent message goes within its chat, for both Telegram channels (the
 * grammY one and the ingress's lite one): its topic, and the message it replies
 * to, if that still exists.
 */
export function sendParameters(
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
