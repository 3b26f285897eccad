import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../../../test/support/aws-emulators.js';
import { DynamoReplyOutbox } from './dynamo-reply-outbox.js';

let aws: AwsEmulators;
let now = Date.UTC(2030, 0, 1);

beforeAll(async () => {
  aws = await startAwsEmulators();
});

afterAll(async () => {
  await aws?.stop();
});

describe('DynamoReplyOutbox', () => {
  const outbox = () =>
    new DynamoReplyOutbox({
      client: aws.dynamo,
      tableName: aws.tableName,
      retentionSeconds: 3600,
      now: () => now,
    });

  it('keeps an answer, its progress, and forgets it on delete', async () => {
    const key = randomUUID();
    expect(await outbox().get(key)).toBeNull();
    const entry = {
      messageIds: [key, 'second'],
      parts: [
        { html: '<b>one</b>', text: 'one' },
        { html: 'two', text: 'two' },
      ],
      disposition: 'answered' as const,
      replyTo: '42',
    };
    await outbox().put(key, entry);
    expect(await outbox().get(key)).toEqual({ ...entry, sent: 0, partMessages: {} });
    await outbox().markSent(key, 1);
    expect((await outbox().get(key))?.sent).toBe(1);
    // Put again (a new answer for the same key) starts delivery over.
    await outbox().put(key, { ...entry, disposition: 'failed' });
    expect(await outbox().get(key)).toMatchObject({ disposition: 'failed', sent: 0 });
    await outbox().delete(key);
    expect(await outbox().get(key)).toBeNull();
    // A tick for an entry that is gone does not bring it back.
    await expect(outbox().markSent(key, 2)).rejects.toThrow();
    expect(await outbox().get(key)).toBeNull();
  });

  it('stores long answers compressed, and treats expired entries as gone', async () => {
    const key = randomUUID();
    const long = 'All work and no play makes Jack a dull boy. '.repeat(20_000);
    const parts = Array.from({ length: 220 }, (_, index) => ({
      html: long.slice(index * 4000, index * 4000 + 4000),
      text: long.slice(index * 4000, index * 4000 + 4000),
    }));
    await outbox().put(key, { messageIds: [key], parts, disposition: 'answered' });
    expect((await outbox().get(key))?.parts).toHaveLength(220);
    now += 3601 * 1000;
    expect(await outbox().get(key)).toBeNull();
  });

  it('keeps the status message from before the answer, and the messages parts are edited into', async () => {
    const key = randomUUID();
    expect(await outbox().statusMessage(key)).toBeNull();
    // Forgetting what was never recorded creates nothing.
    await outbox().recordStatusMessage(key, null);
    expect(await outbox().statusMessage(key)).toBeNull();
    await outbox().recordStatusMessage(key, '501');
    // A status message alone is not an answer.
    expect(await outbox().get(key)).toBeNull();
    expect(await outbox().statusMessage(key)).toBe('501');

    const entry = {
      messageIds: [key],
      parts: [{ text: 'a' }, { text: 'b' }],
      disposition: 'answered' as const,
    };
    await outbox().put(key, entry);
    expect(await outbox().statusMessage(key)).toBe('501');
    await outbox().recordPartMessage(key, 0, '502');
    await outbox().recordPartMessage(key, 1, '503');
    expect(await outbox().get(key)).toMatchObject({
      sent: 0,
      partMessages: { 0: '502', 1: '503' },
    });
    await outbox().recordStatusMessage(key, null);
    expect(await outbox().statusMessage(key)).toBeNull();
    expect((await outbox().get(key))?.partMessages).toEqual({ 0: '502', 1: '503' });

    await outbox().delete(key);
    expect(await outbox().statusMessage(key)).toBeNull();
    // A part message for an answer that is gone does not bring it back.
    await expect(outbox().recordPartMessage(key, 0, '504')).rejects.toThrow();
    expect(await outbox().get(key)).toBeNull();
  });
});
