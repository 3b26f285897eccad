import type { Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { ConversationRef } from '../../domain/conversation.js';
import type { QuestionMessage } from '../../ports/channel.js';
import type { GrammySignal } from './bot-api-client.js';
import { encodeButtonData } from './question-buttons.js';
import { threadOf } from './send-parameters.js';
import { isNotModified } from './telegram-errors.js';

/**
 * Questions with inline buttons (Channel.sendQuestion and friends): plain
 * text, so nothing the agent wrote can break the formatting, one button per
 * row, each carrying the question id and its action (question-buttons.ts).
 */

function keyboardOf(question: QuestionMessage): InlineKeyboardMarkup {
  return {
    inline_keyboard: question.buttons.map((row) =>
      row.map((button) => ({
        text: button.label,
        callback_data: encodeButtonData(question.questionId, button.action),
      })),
    ),
  };
}

export async function sendQuestion(
  api: Api,
  conversation: ConversationRef,
  question: QuestionMessage,
  signal: GrammySignal,
): Promise<string> {
  const message = await api.sendMessage(
    conversation.chatId,
    question.text,
    {
      ...threadOf(conversation),
      reply_markup: keyboardOf(question),
    },
    signal,
  );
  return String(message.message_id);
}

export async function editQuestion(
  api: Api,
  conversation: ConversationRef,
  messageId: string,
  question: QuestionMessage,
  signal: GrammySignal,
): Promise<void> {
  try {
    await api.editMessageReplyMarkup(
      conversation.chatId,
      Number(messageId),
      { reply_markup: keyboardOf(question) },
      signal,
    );
  } catch (error) {
    if (!isNotModified(error)) throw error;
  }
}

export async function closeQuestion(
  api: Api,
  conversation: ConversationRef,
  messageId: string,
  text: string,
  signal: GrammySignal,
): Promise<void> {
  try {
    await api.editMessageText(
      conversation.chatId,
      Number(messageId),
      text,
      { reply_markup: { inline_keyboard: [] } },
      signal,
    );
  } catch (error) {
    if (!isNotModified(error)) throw error;
  }
}
