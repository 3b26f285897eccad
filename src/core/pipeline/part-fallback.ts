import type { Channel, OutgoingPart } from '../../ports/channel.js';
import type { OutboxEntry, ReplyOutbox } from '../../ports/reply-outbox.js';

/**
 * Puts the channel's fallback parts in place of part `index` of an answer
 * (Telegram: HTML messages for a rich message the Bot API does not know or
 * refused), in memory and in the outbox, so a later attempt delivers the
 * same parts. The message recorded for the part, its placeholder, is kept
 * for the first of them; the parts before it stay delivered.
 *
 * The outbox has no "replace parts" of its own: the entry is written again
 * (`put`, which forgets progress) and its progress recorded again at once. A
 * crash between those writes can repeat the parts before `index`; that only
 * matters when a fallback happens after the first part, which in practice it
 * does not (a Bot API without rich messages fails on the first).
 */
export async function replaceWithFallback(
  channel: Channel,
  outbox: ReplyOutbox,
  key: string,
  entry: OutboxEntry,
  index: number,
): Promise<void> {
  const part = entry.parts[index] as OutgoingPart;
  const replacement = channel.fallbackParts?.(part);
  if (!replacement || replacement.length === 0) {
    throw new Error('the channel could not show an answer part and offers no fallback');
  }
  const shift = replacement.length - 1;
  const messages: Record<number, string> = {};
  for (const [at, messageId] of Object.entries(entry.partMessages)) {
    const position = Number(at);
    messages[position > index ? position + shift : position] = messageId;
  }
  entry.parts.splice(index, 1, ...replacement);
  entry.partMessages = messages;
  await outbox.put(key, {
    messageIds: entry.messageIds,
    parts: entry.parts,
    disposition: entry.disposition,
    replyTo: entry.replyTo,
  });
  if (index > 0) await outbox.markSent(key, index);
  for (const [at, messageId] of Object.entries(messages)) {
    await outbox.recordPartMessage(key, Number(at), messageId);
  }
}
