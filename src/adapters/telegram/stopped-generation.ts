import { z } from 'zod';
import { STOP_FROM_DRAFT } from '../../core/pipeline/answer-draft.js';
import { isAllowed } from '../../domain/access-policy.js';
import type { NormalizeContext, Normalized } from './normalize-update.js';

const stoppedSchema = z.looseObject({
  chat: z.looseObject({
    id: z.number().int(),
    type: z.string(),
    first_name: z.string().optional(),
    username: z.string().optional(),
  }),
  message_thread_id: z.number().int().optional(),
  draft_id: z.number().int(),
});

/**
 * The stop button of an answer's draft (`stopped_message_generation`): a
 * `/stop` for the conversation the draft belongs to, so it takes the control
 * lane and stops the running turn the same way, locally and on AWS. Drafts
 * exist in private chats only; a person the access policy does not admit
 * cannot have a draft, and their press is dropped without an answer.
 */
export function normalizeStoppedGeneration(
  raw: Record<string, unknown>,
  context: NormalizeContext,
): Normalized {
  const parsed = stoppedSchema.safeParse(raw.stopped_message_generation);
  if (!parsed.success) return { action: 'ignore', reason: 'malformed stopped_message_generation' };
  const { chat, message_thread_id: threadId } = parsed.data;
  if (chat.type !== 'private')
    return { action: 'ignore', reason: 'draft stopped outside a private chat' };
  const chatId = String(chat.id);
  // In a private chat the chat's id is the person's.
  if (!isAllowed(context.access, chatId, chatId)) {
    return { action: 'ignore', reason: 'draft stopped by a refused user' };
  }
  return {
    action: 'enqueue',
    message: {
      id: `telegram:${context.bot.id}:${raw.update_id as number}`,
      conversation: {
        tenant: context.tenant,
        channel: 'telegram',
        chatId,
        // The draft went to this thread only if the conversation is one (see TelegramChannel.sendDraft).
        ...(threadId !== undefined ? { threadId: String(threadId) } : {}),
      },
      chatType: 'private',
      sender: {
        id: chatId,
        name: chat.first_name || (chat.username ? `@${chat.username}` : 'someone'),
      },
      receivedAt: context.now,
      body: { kind: 'command', command: 'stop', args: STOP_FROM_DRAFT },
    },
  };
}
