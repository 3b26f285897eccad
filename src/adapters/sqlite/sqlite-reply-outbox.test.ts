import { describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { SqliteReplyOutbox } from './sqlite-reply-outbox.js';

describe('SqliteReplyOutbox', () => {
  const entry = {
    messageIds: ['m1', 'm2'],
    parts: [{ text: 'one' }, { text: 'two' }],
    disposition: 'answered' as const,
    replyTo: '7',
  };

  it('keeps an answer, its progress and the messages its parts are edited into', async () => {
    const outbox = new SqliteReplyOutbox(openDatabase(':memory:'));
    expect(await outbox.get('m1')).toBeNull();
    await outbox.put('m1', entry);
    expect(await outbox.get('m1')).toEqual({ ...entry, sent: 0, partMessages: {} });
    await outbox.recordPartMessage('m1', 0, '1001');
    await outbox.markSent('m1', 1);
    await outbox.recordPartMessage('m1', 1, '1002');
    expect(await outbox.get('m1')).toMatchObject({
      sent: 1,
      partMessages: { 0: '1001', 1: '1002' },
    });
    // A new answer for the same key starts delivery over.
    await outbox.put('m1', { ...entry, disposition: 'failed' });
    expect(await outbox.get('m1')).toMatchObject({ sent: 0, partMessages: {} });
    await outbox.delete('m1');
    expect(await outbox.get('m1')).toBeNull();
  });

  it('records the status message before any answer, keeps it through put, and forgets it', async () => {
    const db = openDatabase(':memory:');
    const outbox = new SqliteReplyOutbox(db);
    expect(await outbox.statusMessage('m1')).toBeNull();
    await outbox.recordStatusMessage('m1', '900');
    // Durable: another instance on the same database (a restarted process) sees it.
    const again = new SqliteReplyOutbox(db);
    expect(await again.statusMessage('m1')).toBe('900');
    expect(await again.get('m1')).toBeNull();
    await again.put('m1', entry);
    expect(await again.statusMessage('m1')).toBe('900');
    await again.recordStatusMessage('m1', null);
    expect(await again.statusMessage('m1')).toBeNull();
    expect(await again.get('m1')).toMatchObject({ messageIds: ['m1', 'm2'] });
    await again.recordStatusMessage('m1', '901');
    await again.delete('m1');
    expect(await again.statusMessage('m1')).toBeNull();
  });
});
