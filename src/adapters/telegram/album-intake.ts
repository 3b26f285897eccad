import { conversationId } from '../../domain/conversation.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import type { AlbumGate } from '../../ports/album-gate.js';
import type { Normalized } from './normalize-update.js';

/** Names an album within its chat (and topic): Telegram's media_group_id alone is not ours to trust. */
function albumKey(message: InboundMessage): string | undefined {
  if (message.mediaGroupId === undefined || message.chatType !== 'group') return undefined;
  return `${conversationId(message.conversation)}|${message.mediaGroupId}`;
}

/**
 * What the intake does with a group update that did not address the bot:
 * when it is an item of an album, normalise it as addressed (the access
 * policy still decides) and ask the gate. Returns the message to take now,
 * `'held'` when the gate keeps it for its album, or undefined when it is no
 * album item (or one the bot would not take anyway: a refusal, a file it
 * cannot handle) and stays ignored.
 */
export async function unaddressedAlbumItem(
  update: unknown,
  gate: AlbumGate,
  normalizeAsAddressed: () => Normalized,
): Promise<InboundMessage | 'held' | undefined> {
  if (!hasMediaGroup(update)) return undefined;
  const normalized = normalizeAsAddressed();
  if (normalized.action !== 'enqueue' || normalized.refused) return undefined;
  const { message } = normalized;
  const key = albumKey(message);
  if (key === undefined || message.body.kind !== 'media') return undefined;
  return (await gate.passOrHold(key, message)) ? message : 'held';
}

/**
 * The items of `message`'s album held back before it came: taken first, so
 * the album keeps its order and the queue's album hold-back starts with its
 * first item. None unless `message` is an album item in a group.
 */
export async function heldAlbumItems(
  message: InboundMessage,
  gate: AlbumGate,
): Promise<InboundMessage[]> {
  const key = albumKey(message);
  if (key === undefined || message.body.kind !== 'media') return [];
  return gate.admit(key);
}

function hasMediaGroup(update: unknown): boolean {
  const message = (update as { message?: { media_group_id?: unknown } } | null)?.message;
  return typeof message?.media_group_id === 'string';
}
