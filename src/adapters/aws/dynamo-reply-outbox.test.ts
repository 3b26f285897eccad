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
    expect(await outbox().get(key)).toEqual({ ...entry, sent: 0 });
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
});
