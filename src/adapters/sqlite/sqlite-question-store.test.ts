import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testConversation, testMessage } from '../../../test/support/inbound-messages.js';
import { questionStoreContract } from '../../../test/support/question-store-contract.js';
import { tempDataDir } from '../../../test/support/temp-data-dir.js';
import { AnswerFirstSink } from '../../core/pipeline/answer-first-sink.js';
import { conversationId } from '../../domain/conversation.js';
import { canCombine } from '../../domain/inbound-message.js';
import { databaseFile, openDatabase, type SqliteDatabase } from './database.js';
import { SqliteConversationIndex } from './sqlite-conversation-index.js';
import { SqliteJobQueue } from './sqlite-job-queue.js';
import { SqliteQuestionStore } from './sqlite-question-store.js';

questionStoreContract(
  'SqliteQuestionStore',
  () => new SqliteQuestionStore(openDatabase(':memory:')),
);

describe('SqliteQuestionStore', () => {
  let dir: { dir: string; remove: () => void };
  let db: SqliteDatabase;
  const never = new AbortController().signal;
  const question = () => ({
    id: randomUUID(),
    options: 2,
    multiSelect: false,
    freeText: true,
    expiresAt: Date.now() + 60_000,
  });

  beforeEach(() => {
    dir = tempDataDir();
    db = openDatabase(databaseFile(dir.dir));
  });
  afterEach(() => {
    db.close();
    dir.remove();
  });

  const reopen = () => {
    db.close();
    db = openDatabase(databaseFile(dir.dir));
    return new SqliteQuestionStore(db);
  };

  it('keeps open questions and grants across a restart', async () => {
    const store = new SqliteQuestionStore(db);
    const asked = question();
    await store.open('c1', asked);
    await store.addGrant('c1', 'Bash:ls');

    const after = reopen();
    expect(await after.hasGrant('c1', 'Bash:ls')).toBe(true);
    expect(await after.press('c1', asked.id, { type: 'choose', index: 1 }, 'p1')).toBe('chosen');
    const state = await after.waitForChange('c1', asked.id, 0, never);
    expect(state?.answer).toEqual({ kind: 'chosen', indexes: [1] });
  });

  it('wakes a waiting turn at once when a press is recorded', async () => {
    const store = new SqliteQuestionStore(db, { pollIntervalMs: 60_000 });
    const asked = question();
    await store.open('c1', asked);
    const waiting = store.waitForChange('c1', asked.id, 0, never);
    await store.press('c1', asked.id, { type: 'choose', index: 0 }, 'p1');
    expect((await waiting)?.answer).toEqual({ kind: 'chosen', indexes: [0] });
  });

  it('forgets a conversation’s grants when its session is reset (/new, expiry) or its record removed', async () => {
    const store = new SqliteQuestionStore(db);
    const conversations = new SqliteConversationIndex(db);
    const turn = {
      sessionId: 's1',
      projectKey: 'p',
      inputTokens: 1,
      outputTokens: 1,
      costUsd: 0,
      sessionCostUsd: 0,
      at: Date.now(),
      ttlMs: 60_000,
    };
    await conversations.recordTurn('c1', turn, null);
    await conversations.recordTurn('c2', turn, null);
    await store.addGrant('c1', 'Bash:ls');
    await store.addGrant('c2', 'Bash:ls');
    await conversations.resetSession('c1');
    expect(await store.hasGrant('c1', 'Bash:ls')).toBe(false);
    expect(await store.hasGrant('c2', 'Bash:ls')).toBe(true);
    await conversations.delete('c2');
    expect(await store.hasGrant('c2', 'Bash:ls')).toBe(false);
  });

  it('records a typed answer in the update dedupe: the same update again is a duplicate, not a turn', async () => {
    const store = new SqliteQuestionStore(db);
    const queue = new SqliteJobQueue(db);
    const sink = new AnswerFirstSink(queue, store);
    const message = testMessage({ id: 'telegram:1:7', chatId: 5, text: 'blue' });
    const id = conversationId(testConversation(5));
    const asked = question();
    await store.open(id, asked);

    expect(await sink.enqueue(message, 'turn')).toBe('enqueued');
    expect((await store.waitForChange(id, asked.id, 0, never))?.answer).toEqual({
      kind: 'text',
      text: 'blue',
    });
    // Redelivered while the question is still open: answered once.
    expect(await sink.enqueue(message, 'turn')).toBe('enqueued');
    // The turn closed the question and the process died before Telegram heard
    // the update was taken: the redelivery must not start a turn.
    await store.close(id, asked.id);
    const restarted = reopen();
    const restartedQueue = new SqliteJobQueue(db);
    const again = new AnswerFirstSink(restartedQueue, restarted);
    expect(await again.enqueue(message, 'turn')).toBe('duplicate');
    // Nor when the next question of the conversation is open.
    await restarted.open(id, question());
    expect(await again.enqueue(message, 'turn')).toBe('duplicate');
    expect(restartedQueue.counts().pending).toBe(0);
    expect(
      await restartedQueue.claim('turn', { maxJobs: 10, leaseMs: 60_000, canCombine }),
    ).toBeNull();
  });

  it('does not take a queued message as the answer when it is delivered again', async () => {
    const store = new SqliteQuestionStore(db);
    const queue = new SqliteJobQueue(db);
    const sink = new AnswerFirstSink(queue, store);
    const message = testMessage({ id: 'telegram:1:8', chatId: 6, text: 'hello' });
    const id = conversationId(testConversation(6));
    expect(await sink.enqueue(message, 'turn')).toBe('enqueued');
    const asked = question();
    await store.open(id, asked);
    expect(await sink.enqueue(message, 'turn')).toBe('duplicate');
    const state = await store.waitForChange(id, asked.id, 0, AbortSignal.timeout(20));
    expect(state?.answer).toBeNull();
  });

  it('prunes questions left open long past their time', async () => {
    const store = new SqliteQuestionStore(db);
    await store.open('c1', { ...question(), expiresAt: Date.now() - 2 * 86_400_000 });
    await store.open('c2', question());
    expect(store.prune()).toBe(1);
  });
});
