import { createHash } from 'node:crypto';

/**
 * A conversation is the unit of ordering, locking, storage and isolation:
 * one chat (or one forum topic of a chat) of one tenant on one channel.
 */
export interface ConversationRef {
  /** Who owns the deployment's data (one bot, one team). */
  tenant: string;
  /** Where the conversation happens: `telegram`, `terminal`, ... */
  channel: string;
  chatId: string;
  /** Forum topic (Telegram `message_thread_id`); absent for the chat itself. */
  threadId?: string | undefined;
}

/** How long an idle conversation keeps its session before the next message starts afresh. */
export const DEFAULT_SESSION_TTL_MS = 25 * 24 * 60 * 60 * 1000;

/**
 * Stable, readable identifier of a conversation, used as the key in every
 * store and as the queue's ordering lane. Parts are URI-encoded so a `:` inside
 * a part can never make two conversations collide.
 */
export function conversationId(ref: ConversationRef): string {
  const parts = [ref.tenant, ref.channel, ref.chatId, ref.threadId ?? '-'];
  return parts.map((part) => encodeURIComponent(part)).join(':');
}

/** The conversation a `conversationId` names; null for a string that is not one. */
export function parseConversationId(id: string): ConversationRef | null {
  const parts = id.split(':');
  if (parts.length !== 4) return null;
  try {
    const [tenant, channel, chatId, threadId] = parts.map((part) => decodeURIComponent(part));
    if (!tenant || !channel || !chatId || threadId === undefined) return null;
    return { tenant, channel, chatId, ...(threadId === '-' ? {} : { threadId }) };
  } catch {
    return null;
  }
}

/**
 * A short, filesystem-safe name for a conversation (its working directory).
 * Hashing keeps the path short and free of characters a shell or the SDK's
 * project-key sanitiser would treat specially, and deterministic so every
 * container derives the same path (the SDK keys transcripts by working directory).
 */
export function conversationSlug(ref: ConversationRef): string {
  return createHash('sha256').update(conversationId(ref)).digest('hex').slice(0, 24);
}
