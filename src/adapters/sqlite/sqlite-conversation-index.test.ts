import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { describeConversationIndexContract } from '../../../test/support/conversation-index-contract.js';
import { tempDataDir } from '../../../test/support/temp-data-dir.js';
import type { TurnRecord } from '../../ports/conversation-index.js';
import { databaseFile, openDatabase } from './database.js';
import { migrations } from './migrations.js';
import { SqliteConversationIndex } from './sqlite-conversation-index.js';

describeConversationIndexContract('SqliteConversationIndex', async () => {
  const { dir, remove } = tempDataDir();
  const index = new SqliteConversationIndex(databaseFile(dir));
  return {
    index,
    cleanup: async () => {
      index.close();
      remove();
    },
  };
});

const turn: TurnRecord = {
  sessionId: 'session-1',
  projectKey: 'project-1',
  inputTokens: 10,
  outputTokens: 5,
  costUsd: 0.01,
  sessionCostUsd: 0.01,
  at: 1_000,
  ttlMs: 100,
};

describe('SqliteConversationIndex', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });
  function dataFile(): string {
    const { dir, remove } = tempDataDir();
    cleanups.push(remove);
    return databaseFile(dir);
  }

  it('keeps records across closing and reopening the file', async () => {
    const file = dataFile();
    const first = new SqliteConversationIndex(file);
    const record = await first.recordTurn('c1', turn, null);
    first.close();

    const reopened = new SqliteConversationIndex(file);
    cleanups.push(() => reopened.close());
    expect(await reopened.get('c1')).toStrictEqual(record);
    await expect(reopened.recordTurn('c1', turn, null)).rejects.toThrow(/changed concurrently/);
  });

  it('stamps a reset with its clock', async () => {
    const index = new SqliteConversationIndex(dataFile(), { now: () => 4_242.9 });
    cleanups.push(() => index.close());
    await index.recordTurn('c1', turn, null);
    await index.resetSession('c1');
    expect((await index.get('c1'))?.updatedAt).toBe(4_242);
  });

  it('lists expired records oldest first', async () => {
    const index = new SqliteConversationIndex(dataFile());
    cleanups.push(() => index.close());
    await index.recordTurn('late', { ...turn, at: 3_000 }, null);
    await index.recordTurn('early', { ...turn, at: 1_000 }, null);
    await index.recordTurn('middle', { ...turn, at: 2_000 }, null);

    const expired = await index.listExpired(10_000, 2);
    expect(expired.map((r) => r.conversationId)).toStrictEqual(['early', 'middle']);
  });

  it('rejects a turn with non-integer tokens or a missing cost, writing nothing', async () => {
    const index = new SqliteConversationIndex(dataFile());
    cleanups.push(() => index.close());
    const record = await index.recordTurn('c1', turn, null);

    await expect(
      index.recordTurn('c1', { ...turn, inputTokens: 1.5 }, record.version),
    ).rejects.toThrow(/INTEGER/);
    await expect(index.recordTurn('c2', { ...turn, costUsd: Number.NaN }, null)).rejects.toThrow();
    expect(await index.get('c1')).toStrictEqual(record);
    expect(await index.get('c2')).toBeNull();
  });

  it('reads a record written before the daily cost existed as nothing spent on any day', async () => {
    const file = dataFile();
    const before = openDatabase(file, {
      migrations: migrations.filter((migration) => migration.version < 4),
    });
    before
      .prepare(
        `INSERT INTO conversations VALUES ('old', 's', 'p', 1000, 1000, 2000, 3, 30, 10, 2.5, 1.5, 7)`,
      )
      .run();
    before.close();

    const index = new SqliteConversationIndex(file);
    cleanups.push(() => index.close());
    const record = await index.get('old');
    expect(record).toMatchObject({ costUsd: 2.5, costDay: null, costDayUsd: 0, version: 7 });
    const next = await index.recordTurn('old', { ...turn, at: 86_400_000 }, 7);
    expect(next).toMatchObject({ costDay: '1970-01-02', costDayUsd: turn.costUsd, turns: 4 });
  });

  it('shares a database with other adapters without closing it', async () => {
    const db = new BetterSqlite3(':memory:');
    cleanups.push(() => db.close());
    const index = new SqliteConversationIndex(db);
    await index.recordTurn('c1', turn, null);
    index.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) FROM conversations').pluck().get()).toBe(1);
  });
});
