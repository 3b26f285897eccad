import { z } from 'zod';
import { type AccessPolicy, isAllowed } from '../../domain/access-policy.js';
import { type ConversationRef, conversationId } from '../../domain/conversation.js';
import type { ButtonAction } from '../../domain/person-questions.js';
import { telegramConversation } from './telegram-conversation.js';

/**
 * The callback data of a question's buttons, `q:<question id>:<action>`
 * (Telegram allows 64 bytes): `c<i>` chooses option i, `t<i>` toggles it, `d`
 * is Done. The data names the question, never the conversation: a press is
 * matched to the conversation of the chat it was pressed in, so data copied
 * into another chat (or forged) finds no open question there.
 */
const PREFIX = 'q';
const DATA = /^q:([A-Za-z0-9_-]{8,40}):(c\d{1,2}|t\d{1,2}|d)$/;

export function encodeButtonData(questionId: string, action: ButtonAction): string {
  const code =
    action.type === 'done' ? 'd' : `${action.type === 'choose' ? 'c' : 't'}${action.index}`;
  return `${PREFIX}:${questionId}:${code}`;
}

export function decodeButtonData(
  data: string,
): { questionId: string; action: ButtonAction } | undefined {
  const match = DATA.exec(data);
  if (!match) return undefined;
  const questionId = match[1] as string;
  const code = match[2] as string;
  if (code === 'd') return { questionId, action: { type: 'done' } };
  const index = Number(code.slice(1));
  return { questionId, action: { type: code[0] === 'c' ? 'choose' : 'toggle', index } };
}

/** A press of one of our question buttons, with whom and where. */
export interface ButtonPress {
  callbackQueryId: string;
  /** The update's id: a redelivered press counts once. */
  pressId: string;
  conversation: ConversationRef;
  conversationId: string;
  questionId: string;
  action: ButtonAction;
  userId: string;
  /** The access policy admits the person in this chat. */
  allowed: boolean;
}

const callbackSchema = z.looseObject({
  update_id: z.number().int(),
  callback_query: z.looseObject({
    id: z.string().min(1),
    from: z.looseObject({ id: z.number().int() }),
    data: z.string().optional(),
    message: z
      .looseObject({
        message_id: z.number().int(),
        chat: z.looseObject({ id: z.number().int() }),
        message_thread_id: z.number().int().optional(),
        is_topic_message: z.boolean().optional(),
      })
      .optional(),
  }),
});

/**
 * The press in a `callback_query` update, if it is one of a question's
 * buttons on a message in a chat; undefined for anything else (the intake
 * answers other buttons as stale).
 */
export function parseButtonPress(
  update: unknown,
  context: { tenant: string; access: AccessPolicy; botId: number },
): ButtonPress | undefined {
  const parsed = callbackSchema.safeParse(update);
  if (!parsed.success) return undefined;
  const query = parsed.data.callback_query;
  const decoded = query.data === undefined ? undefined : decodeButtonData(query.data);
  if (!decoded || !query.message) return undefined;
  const { message } = query;
  // The same rule as for messages: only forum topics split a chat.
  const conversation = telegramConversation(context.tenant, message);
  const userId = String(query.from.id);
  return {
    callbackQueryId: query.id,
    pressId: `telegram:${context.botId}:${parsed.data.update_id}`,
    conversation,
    conversationId: conversationId(conversation),
    questionId: decoded.questionId,
    action: decoded.action,
    userId,
    allowed: isAllowed(context.access, userId, conversation.chatId),
  };
}
