import { afterEach, describe, expect, it } from 'vitest';
import { FakeChannel } from '../../../test/support/fake-channel.js';
import { FakeTurnRunner, gatedTurn } from '../../../test/support/fake-turn-runner.js';
import { testMessage } from '../../../test/support/inbound-messages.js';
import { fixedConversationIndex } from '../../../test/support/memory-stores.js';
import { InMemoryTurnControl } from '../../adapters/memory/in-memory-turn-control.js';
import { openDatabase, type SqliteDatabase } from '../../adapters/sqlite/database.js';
import { SqliteJobQueue } from '../../adapters/sqlite/sqlite-job-queue.js';
import { SqliteReplyOutbox } from '../../adapters/sqlite/sqlite-reply-outbox.js';
import { ConversationWorker, DEFAULT_TEXTS } from './conversation-worker.js';
import { Ingress } from './ingress.js';
import { WorkerPool } from './worker-pool.js';

/** Resolves when `predicate` holds; polls, since the pool runs on its own. */
async function until(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('WorkerPool', () => {
  const pools: WorkerPool[] = [];
  let db: SqliteDatabase | undefined;

  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.stop();
    db?.close();
  });

  function setup(
    options: { concurrency?: number; maxAttempts?: number; database?: SqliteDatabase } = {},
  ) {
    db = options.database ?? openDatabase(':memory:');
    const queue = new SqliteJobQueue(db);
    const outbox = new SqliteReplyOutbox(db);
    const runner = new FakeTurnRunner();
    const channel = new FakeChannel(10_000);
    const worker = new ConversationWorker({
      runner,
      channel,
      outbox,
      turns: new InMemoryTurnControl(),
      conversations: fixedConversationIndex({}),
      maxAttempts: options.maxAttempts ?? 3,
    });
    const pool = new WorkerPool({
      queue,
      outbox,
      worker,
      concurrency: options.concurrency ?? 2,
      backoffMs: () => 0,
      pollIntervalMs: 50,
    });
    pools.push(pool);
    const ingress = new Ingress({ queue, onEnqueued: () => pool.notify() });
    return { queue, runner, channel, pool, ingress };
  }

  it('answers 20 messages to one chat in order, none twice, one turn at a time', async () => {
    const { runner, channel, pool, ingress } = setup();
    const gate = gatedTurn('first answer');
    runner.next(gate.turn);
    await pool.start();
    await ingress.accept(testMessage({ chatId: 7, text: 'm0' }));
    await gate.started;
    for (let index = 1; index < 20; index++) {
      await ingress.accept(testMessage({ chatId: 7, text: `m${index}` }));
    }
    gate.release();
    await until(
      () => runner.prompts.join('\n\n').includes('m19') && pool.busy === 0,
      'all answers',
    );

    const asked = runner.prompts.join('\n\n').split('\n\n');
    expect(asked).toEqual(Array.from({ length: 20 }, (_, index) => `m${index}`));
    // The 19 that queued during the first turn were answered together.
    expect(runner.requests).toHaveLength(2);
    expect(runner.maxRunningPerConversation).toBe(1);
    expect(channel.texts()).toEqual(['first answer', `echo: ${asked.slice(1).join('\n\n')}`]);
  });

  it('runs different conversations in parallel, up to the concurrency limit', async () => {
    const { runner, pool, ingress } = setup({ concurrency: 2 });
    const gates = [gatedTurn(), gatedTurn(), gatedTurn()];
    runner.next(...gates.map((gate) => gate.turn));
    await pool.start();
    for (const chatId of [1, 2, 3]) await ingress.accept(testMessage({ chatId }));
    await Promise.all([gates[0]?.started, gates[1]?.started]);
    expect(runner.running).toBe(2);
    gates[0]?.release();
    await gates[2]?.started;
    gates[1]?.release();
    gates[2]?.release();
    await until(() => runner.requests.length === 3 && pool.busy === 0, 'three turns');
    expect(runner.maxRunning).toBe(2);
  });

  it('retries a failing turn, then dead-letters it with one failure message', async () => {
    const { queue, runner, channel, pool, ingress } = setup({ maxAttempts: 3 });
    runner.setFallback(() => ({ outcome: 'error' }));
    await pool.start();
    await ingress.accept(testMessage({ chatId: 1, text: 'doomed' }));
    await until(() => queue.counts().dead === 1 && pool.busy === 0, 'dead letter');
    expect(runner.requests).toHaveLength(3);
    expect(channel.texts()).toEqual([DEFAULT_TEXTS.failed]);
  });

  it('drops a duplicate message at ingress', async () => {
    const { runner, pool, ingress } = setup();
    await pool.start();
    const message = testMessage({ id: 'telegram:1:55', text: 'once' });
    expect(await ingress.accept(message)).toBe('enqueued');
    expect(await ingress.accept(message)).toBe('duplicate');
    await until(() => runner.requests.length === 1 && pool.busy === 0, 'the answer');
    expect(runner.prompts).toEqual(['once']);
  });

  it('on stop, puts a running turn back; the next start answers it once', async () => {
    const database = openDatabase(':memory:');
    const first = setup({ database });
    const gate = gatedTurn();
    first.runner.next(gate.turn);
    await first.pool.start();
    await first.ingress.accept(testMessage({ id: 'm1', text: 'interrupted' }));
    await gate.started;
    await first.pool.stop();
    expect(first.channel.sent).toHaveLength(0);

    const second = setup({ database });
    await second.pool.start();
    await until(() => second.channel.sent.length === 1 && second.pool.busy === 0, 'the answer');
    expect(second.runner.prompts).toEqual(['interrupted']);
    expect(second.queue.counts()).toEqual({ pending: 0, leased: 0, dead: 0 });
  });
});
