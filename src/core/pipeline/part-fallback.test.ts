import { describe, expect, it } from 'vitest';
import { MemoryReplyOutbox } from '../../../test/support/memory-stores.js';
import type { Channel, OutgoingPart } from '../../ports/channel.js';
import type { OutboxEntry } from '../../ports/reply-outbox.js';
import { replaceWithFallback } from './part-fallback.js';

/** A channel whose fallback for `{ markdown }` is one HTML part per line. */
const channel = {
  fallbackParts: (part: OutgoingPart) =>
    (part.markdown ?? '').split('\n').map((line) => ({ html: line, text: line })),
} as unknown as Channel;

describe('replaceWithFallback', () => {
  it('puts the fallback parts in place of one, keeping what was delivered and its placeholder', async () => {
    const outbox = new MemoryReplyOutbox();
    const entry: OutboxEntry = {
      messageIds: ['m1'],
      parts: [{ markdown: 'first' }, { markdown: 'a\nb\nc' }, { markdown: 'last' }],
      sent: 0,
      disposition: 'answered',
      replyTo: '9',
      partMessages: {},
    };
    await outbox.put('k', entry);
    await outbox.markSent('k', 1);
    await outbox.recordPartMessage('k', 0, '100');
    await outbox.recordPartMessage('k', 1, '101');
    entry.sent = 1;
    entry.partMessages = { 0: '100', 1: '101' };

    await replaceWithFallback(channel, outbox, 'k', entry, 1);

    const expected = {
      messageIds: ['m1'],
      parts: [
        { markdown: 'first' },
        { html: 'a', text: 'a' },
        { html: 'b', text: 'b' },
        { html: 'c', text: 'c' },
        { markdown: 'last' },
      ],
      disposition: 'answered',
      replyTo: '9',
      partMessages: { 0: '100', 1: '101' },
    };
    expect(entry).toMatchObject(expected);
    // What a later attempt finds: the same parts, the first part delivered, the placeholder kept.
    expect(await outbox.get('k')).toEqual({ ...expected, sent: 1 });
  });

  it('refuses a channel without a fallback, changing nothing', async () => {
    const outbox = new MemoryReplyOutbox();
    const entry: OutboxEntry = {
      messageIds: ['m1'],
      parts: [{ markdown: 'x' }],
      sent: 0,
      disposition: 'answered',
      partMessages: {},
    };
    await outbox.put('k', entry);
    await expect(replaceWithFallback({} as Channel, outbox, 'k', entry, 0)).rejects.toThrow(
      /no fallback/,
    );
    expect(entry.parts).toEqual([{ markdown: 'x' }]);
  });
});
