import type { Api } from 'grammy';
import type { ConversationRef } from '../../domain/conversation.js';
import type { GrammySignal } from './bot-api-client.js';
import { threadOf } from './send-parameters.js';
import { isNotModified } from './telegram-errors.js';

// Status messages (a long turn's progress) are plain text (no parse mode, so
// no formatting errors) and silent, edited in place and deleted when the
// answer is ready.

export async function sendStatus(
  api: Api,
  conversation: ConversationRef,
  text: string,
  signal: GrammySignal,
): Promise<string> {
  const message = await api.sendMessage(
    conversation.chatId,
    text,
    { ...threadOf(conversation), disable_notification: true },
    signal,
  );
  return String(message.message_id);
}

export async function editStatus(
  api: Api,
  conversation: ConversationRef,
  messageId: string,
  text: string,
  signal: GrammySignal,
): Promise<void> {
  try {
    await api.editMessageText(conversation.chatId, Number(messageId), text, undefined, signal);
  } catch (error) {
    // Already says this: nothing to do.
    if (isNotModified(error)) return;
    throw error;
  }
}

export async function deleteStatus(
  api: Api,
  conversation: ConversationRef,
  messageId: string,
  signal: GrammySignal,
): Promise<void> {
  await api.deleteMessage(conversation.chatId, Number(messageId), signal);
}

/** "typing…" at the top of the chat while a turn runs. */
export async function showTyping(
  api: Api,
  conversation: ConversationRef,
  signal: GrammySignal,
): Promise<void> {
  await api.sendChatAction(conversation.chatId, 'typing', threadOf(conversation), signal);
}
