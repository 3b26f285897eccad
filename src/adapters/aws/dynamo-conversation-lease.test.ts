import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../../../test/support/aws-emulators.js';
import { DynamoConversationLease } from './dynamo-conversation-lease.js';
import { DynamoUpdateDedupe } from './dynamo-update-dedupe.js';

let aws: AwsEmulators;
let now = Date.UTC(2030, 0, 1);
const clock = () => now;

beforeAll(async () => {
  aws = await startAwsEmulators();
});

afterAll(async () => {
  await aws?.stop();
});

describe('DynamoConversationLease', () => {
  const leases = () =>
    new DynamoConversationLease({ client: aws.dynamo, tableName: aws.tableName, now: clock });

  it('lets exactly one of several racing workers hold a conversation', async () => {
    const conversation = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => leases().acquire(conversation, `worker-${i}`, 30_000)),
    );
    const held = results.filter((lease) => lease !== null);
    expect(held).toHaveLength(1);

    // Other conversations are not affected.
    expect(await leases().acquire(randomUUID(), 'worker-0', 30_000)).not.toBeNull();
  });

  it('is taken over only after it lapses, and the old holder then cannot renew or release', async () => {
    const conversation = randomUUID();
    const first = await leases().acquire(conversation, 'a', 30_000);
    if (!first) throw new Error('not acquired');
    expect(await leases().acquire(conversation, 'b', 30_000)).toBeNull();

    now += 10_000;
    const renewed = await leases().renew(first, 30_000);
    expect(renewed?.expiresAt).toBe(now + 30_000);
    now += 25_000;
    expect(await leases().acquire(conversation, 'b', 30_000)).toBeNull();

    now += 10_000;
    const second = await leases().acquire(conversation, 'b', 30_000);
    expect(second?.token).toBeGreaterThan(first.token);
    expect(await leases().renew(first, 30_000)).toBeNull();
    expect(await leases().release(first)).toBe(false);
    expect(await leases().acquire(conversation, 'c', 30_000)).toBeNull();
  });

  it('is free again at once after release, with a larger token', async () => {
    const conversation = randomUUID();
    const first = await leases().acquire(conversation, 'a', 30_000);
    if (!first) throw new Error('not acquired');
    expect(await leases().release(first)).toBe(true);
    expect(await leases().renew(first, 30_000)).toBeNull();

    const next = await leases().acquire(conversation, 'b', 30_000);
    expect(next?.token).toBe(first.token + 1);
  });

  it('lets the holder re-acquire (a retried invocation of the same owner)', async () => {
    const conversation = randomUUID();
    const first = await leases().acquire(conversation, 'a', 30_000);
    const again = await leases().acquire(conversation, 'a', 30_000);
    expect(again).not.toBeNull();
    // The earlier handle is stale: only the newest one releases.
    expect(first && (await leases().release(first))).toBe(false);
    expect(again && (await leases().release(again))).toBe(true);
  });
});

describe('DynamoUpdateDedupe', () => {
  const dedupe = (namespace = 'bot-1') =>
    new DynamoUpdateDedupe({
      client: aws.dynamo,
      tableName: aws.tableName,
      namespace,
      pendingSeconds: 60,
      retentionSeconds: 86_400,
      now: clock,
    });

  it('accepts an id once, and again only after retention', async () => {
    const id = String(Math.floor(Math.random() * 1e9));
    expect(await dedupe().markSeen(id)).toBe(true);
    await dedupe().commit(id);
    expect(await dedupe().markSeen(id)).toBe(false);
    expect(await dedupe('bot-2').markSeen(id)).toBe(true);

    now += 3_600_000;
    expect(await dedupe().markSeen(id)).toBe(false);
    now += 86_400_000;
    expect(await dedupe().markSeen(id)).toBe(true);
  });

  it('lets exactly one of concurrent deliveries through', async () => {
    const id = randomUUID();
    const results = await Promise.all(Array.from({ length: 5 }, () => dedupe().markSeen(id)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('lets a retry through after forget, or once an uncommitted claim lapses', async () => {
    const forgotten = randomUUID();
    expect(await dedupe().markSeen(forgotten)).toBe(true);
    await dedupe().forget(forgotten);
    expect(await dedupe().markSeen(forgotten)).toBe(true);

    const abandoned = randomUUID();
    expect(await dedupe().markSeen(abandoned)).toBe(true);
    now += 30_000;
    expect(await dedupe().markSeen(abandoned)).toBe(false);
    now += 31_000;
    expect(await dedupe().markSeen(abandoned)).toBe(true);
  });
});
