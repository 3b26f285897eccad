import type { ConversationRef } from '../../src/domain/conversation.js';
import type { InboundBody, InboundMessage } from '../../src/domain/inbound-message.js';

let counter = 0;

/** A conversation of the test tenant on Telegram. */
export function testConversation(
  chatId: string | number,
  threadId?: string | number,
): ConversationRef {
  return {
    tenant: 'test',
    channel: 'telegram',
    chatId: String(chatId),
    ...(threadId !== undefined ? { threadId: String(threadId) } : {}),
  };
}

/** An inbound message; text unless `body` says otherwise. */
export function testMessage(
  options: {
    id?: string;
    chatId?: string | number;
    threadId?: string | number;
    text?: string;
    body?: InboundBody;
    chatType?: 'private' | 'group';
    senderName?: string;
  } = {},
): InboundMessage {
  counter++;
  return {
    id: options.id ?? `msg-${counter}`,
    conversation: testConversation(options.chatId ?? 1, options.threadId),
    chatType: options.chatType ?? 'private',
    messageId: String(1000 + counter),
    sender: { id: '42', name: options.senderName ?? 'Ada' },
    receivedAt: 1_700_000_000_000,
    body: options.body ?? { kind: 'text', text: options.text ?? `message ${counter}` },
  };
}

export function command(name: 'start' | 'help' | 'new' | 'status' | 'stop'): InboundBody {
  return { kind: 'command', command: name, args: '' };
}
