import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { command, testMessage } from '../../../test/support/inbound-messages.js';
import { tempDataDir } from '../../../test/support/temp-data-dir.js';
import { canCombine } from '../../domain/inbound-message.js';
import type { ClaimedBatch, ClaimOptions } from '../../ports/job-queue.js';
import { databaseFile, openDatabase, type SqliteDatabase } from './database.js';
import { SqliteJobQueue } from './sqlite-job-queue.js';

const claimOptions: ClaimOptions = { maxJobs: 10, leaseMs: 60_000, canCombine };
const texts = (batch: ClaimedBatch | null) =>
  batch?.jobs.map((job) =>
    job.message.body.kind === 'text' ? job.message.body.text : job.message.body.kind,
  );

describe('SqliteJobQueue', () => {
  let dir: { dir: string; remove: () => void };
  let db: SqliteDatabase;
  let clock: number;
  let queue: SqliteJobQueue;

  beforeEach(() => {
    dir = tempDataDir();
    db = openDatabase(databaseFile(dir.dir));
    clock = 1_000_000;
    queue = new SqliteJobQueue(db, { now: () => clock });
  });
  afterEach(() => {
    db.close();
    dir.remove();
  });

  it('accepts a message id once, even after its job is done and the file reopened', async () => {
    const message = testMessage({ id: 'telegram:1:100' });
    expect(await queue.enqueue(message, 'turn')).toBe('enqueued');
    expect(await queue.enqueue(message, 'turn')).toBe('duplicate');
    const batch = await queue.claim('turn', claimOptions);
    await queue.complete(batch?.jobs.map((job) => job.id) ?? []);
    db.close();
    db = openDatabase(databaseFile(dir.dir));
    queue = new SqliteJobQueue(db, { now: () => clock });
    expect(await queue.enqueue(message, 'turn')).toBe('duplicate');
    expect(await queue.claim('turn', claimOptions)).toBeNull();
  });

  it('leases one batch per lane, combining queued texts, and serves other lanes meanwhile', async () => {
    await queue.enqueue(testMessage({ chatId: 1, text: 'a1' }), 'turn');
    await queue.enqueue(testMessage({ chatId: 2, text: 'b1' }), 'turn');
    await queue.enqueue(testMessage({ chatId: 1, text: 'a2' }), 'turn');

    const first = await queue.claim('turn', claimOptions);
    expect(texts(first)).toEqual(['a1', 'a2']);
    expect(first?.attempt).toBe(1);
    expect(texts(await queue.claim('turn', claimOptions))).toEqual(['b1']);

    await queue.enqueue(testMessage({ chatId: 1, text: 'a3' }), 'turn');
    // Chat 1 has a batch in flight: a3 waits for it.
    expect(await queue.claim('turn', claimOptions)).toBeNull();
    await queue.complete(first?.jobs.map((job) => job.id) ?? []);
    expect(texts(await queue.claim('turn', claimOptions))).toEqual(['a3']);
  });

  it('never combines across /new and respects maxJobs', async () => {
    for (const body of [undefined, undefined, command('new'), undefined]) {
      await queue.enqueue(testMessage({ chatId: 1, text: 'x', ...(body ? { body } : {}) }), 'turn');
    }
    const kinds = [];
    for (let round = 0; round < 4; round++) {
      const batch = await queue.claim('turn', { ...claimOptions, maxJobs: 1 });
      if (!batch) break;
      kinds.push(batch.jobs.map((job) => job.message.body.kind));
      await queue.complete(batch.jobs.map((job) => job.id));
    }
    expect(kinds).toEqual([['text'], ['text'], ['command'], ['text']]);
  });

  it('keeps a retried batch at the front of its lane until it is due, then counts the attempt', async () => {
    await queue.enqueue(testMessage({ chatId: 1, text: 'a1' }), 'turn');
    const first = await queue.claim('turn', claimOptions);
    await queue.retry(first?.jobs.map((job) => job.id) ?? [], 5_000, 'model down');
    await queue.enqueue(testMessage({ chatId: 1, text: 'a2' }), 'turn');

    expect(await queue.claim('turn', claimOptions)).toBeNull();
    expect(await queue.nextDueAt('turn')).toBe(clock + 5_000);
    clock += 5_000;
    const second = await queue.claim('turn', claimOptions);
    expect(texts(second)).toEqual(['a1', 'a2']);
    expect(second?.attempt).toBe(2);
  });

  it('moves dead letters out of the way and keeps them with their error', async () => {
    await queue.enqueue(testMessage({ chatId: 1, text: 'poison' }), 'turn');
    const first = await queue.claim('turn', claimOptions);
    await queue.enqueue(testMessage({ chatId: 1, text: 'next' }), 'turn');
    await queue.deadLetter(first?.jobs.map((job) => job.id) ?? [], 'gave up');
    expect(texts(await queue.claim('turn', claimOptions))).toEqual(['next']);
    expect(queue.deadLetters()).toEqual([
      expect.objectContaining({ error: 'gave up', attempts: 1 }),
    ]);
  });

  it('puts released jobs back without counting the claim', async () => {
    await queue.enqueue(testMessage({ chatId: 1, text: 'a1' }), 'turn');
    const first = await queue.claim('turn', claimOptions);
    await queue.release(first?.jobs.map((job) => job.id) ?? []);
    expect((await queue.claim('turn', claimOptions))?.attempt).toBe(1);
  });

  it('recovers leases of a previous run, and leases that ran out', async () => {
    await queue.enqueue(testMessage({ chatId: 1, text: 'a1' }), 'turn');
    await queue.enqueue(testMessage({ chatId: 2, text: 'b1' }), 'turn');
    await queue.claim('turn', claimOptions);
    await queue.claim('turn', { ...claimOptions, leaseMs: 1_000 });

    // A new process on the same file (the old one was killed).
    const restarted = new SqliteJobQueue(openDatabase(databaseFile(dir.dir)), { now: () => clock });
    expect(await restarted.recoverInterrupted()).toBe(2);
    const again = await restarted.claim('turn', claimOptions);
    expect(texts(again)).toEqual(['a1']);
    expect(again?.attempt).toBe(2);
    restarted.db.close();

    // Without a restart, an expired lease frees the lane too.
    await queue.enqueue(testMessage({ chatId: 3, text: 'c1' }), 'turn');
    const c = await queue.claim('turn', { ...claimOptions, leaseMs: 1_000 });
    expect(texts(c)).toEqual(['b1']);
    expect(texts(await queue.claim('turn', claimOptions))).toEqual(['c1']);
    expect(await queue.claim('turn', claimOptions)).toBeNull();
    clock += 1_001;
    expect(await queue.nextDueAt('turn')).toBeLessThanOrEqual(clock);
    const expired = await queue.claim('turn', claimOptions);
    expect(texts(expired)).toEqual(['b1']);
    expect(expired?.attempt).toBe(3);
  });

  it('dead-letters an unreadable payload and carries on with the lane', async () => {
    await queue.enqueue(testMessage({ id: 'bad', chatId: 1, text: 'a1' }), 'turn');
    await queue.enqueue(testMessage({ chatId: 1, text: 'a2' }), 'turn');
    db.prepare(`UPDATE jobs SET payload = '{"id":"bad"}' WHERE id = 'bad'`).run();
    expect(texts(await queue.claim('turn', claimOptions))).toEqual(['a2']);
    expect(queue.counts()).toEqual({ pending: 0, leased: 1, dead: 1 });
  });

  it('keeps control lanes apart from turn lanes', async () => {
    await queue.enqueue(testMessage({ chatId: 1, text: 'long job' }), 'turn');
    await queue.claim('turn', claimOptions);
    await queue.enqueue(testMessage({ chatId: 1, body: command('stop') }), 'control');
    const control = await queue.claim('control', { ...claimOptions, maxJobs: 1 });
    expect(control?.jobs[0]?.message.body).toEqual(command('stop'));
    expect(await queue.claim('turn', claimOptions)).toBeNull();
  });

  it('prunes old dedupe entries and dead letters', async () => {
    await queue.enqueue(testMessage({ id: 'old', chatId: 1 }), 'turn');
    const batch = await queue.claim('turn', claimOptions);
    await queue.deadLetter(batch?.jobs.map((job) => job.id) ?? [], 'x');
    clock += 31 * 24 * 60 * 60 * 1000;
    expect(queue.prune()).toBe(2);
    expect(await queue.enqueue(testMessage({ id: 'old', chatId: 1 }), 'turn')).toBe('enqueued');
  });
});
