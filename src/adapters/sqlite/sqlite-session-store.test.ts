import type { SessionKey, SessionStoreEntry } from '@anthropic-ai/claude-agent-sdk';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { describeSessionStoreContract } from '../../../test/support/session-store-contract.js';
import { tempDataDir } from '../../../test/support/temp-data-dir.js';
import { databaseFile, openDatabase } from './database.js';
import { SqliteSessionStore } from './sqlite-session-store.js';

describeSessionStoreContract('SqliteSessionStore (file)', async () => {
  const { dir, remove } = tempDataDir();
  const store = new SqliteSessionStore(databaseFile(dir));
  return {
    store,
    cleanup: async () => {
      store.close();
      remove();
    },
  };
});

describeSessionStoreContract('SqliteSessionStore (shared in-memory database)', async () => {
  const db = openDatabase(':memory:');
  return {
    store: new SqliteSessionStore(db),
    cleanup: async () => {
      db.close();
    },
  };
});

const key: SessionKey = { projectKey: 'project', sessionId: 'session-1' };
let n = 0;
function entry(extra: Record<string, unknown> = {}): SessionStoreEntry {
  n += 1;
  return { type: 'user', uuid: `uuid-${n}`, message: { content: `message ${n}` }, ...extra };
}

describe('SqliteSessionStore', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });
  function dataFile(): string {
    const { dir, remove } = tempDataDir();
    cleanups.push(remove);
    return databaseFile(dir);
  }
  function storeAt(file: string, now?: () => number): SqliteSessionStore {
    const store = new SqliteSessionStore(file, now ? { now } : {});
    cleanups.push(() => store.close());
    return store;
  }

  it('keeps transcripts, subkeys and summaries across closing and reopening the file', async () => {
    const file = dataFile();
    const first = new SqliteSessionStore(file);
    const main = [entry({ customTitle: 'kept' }), entry()];
    const sub = [entry()];
    await first.append(key, main);
    await first.append({ ...key, subpath: 'subagents/agent-a' }, sub);
    const sessions = await first.listSessions('project');
    const summaries = await first.listSessionSummaries('project');
    first.close();

    const reopened = storeAt(file);
    expect(await reopened.load(key)).toStrictEqual(main);
    expect(await reopened.load({ ...key, subpath: 'subagents/agent-a' })).toStrictEqual(sub);
    expect(await reopened.listSubkeys(key)).toStrictEqual(['subagents/agent-a']);
    expect(await reopened.listSessions('project')).toStrictEqual(sessions);
    expect(await reopened.listSessionSummaries('project')).toStrictEqual(summaries);
    // Idempotency survives the reopen too.
    await reopened.append(key, main);
    expect(await reopened.load(key)).toStrictEqual(main);
  });

  it('shares one file between connections, deduplicating across them', async () => {
    const file = dataFile();
    const a = storeAt(file);
    const b = storeAt(file);
    const batch = [entry(), entry()];

    await a.append(key, batch);
    await b.append(key, batch);
    await b.append(key, [entry({ uuid: undefined, type: 'tag', tag: 'x' })]);

    expect(await a.load(key)).toHaveLength(3);
    expect(b.entriesWritten).toBe(1);
  });

  it('writes a batch all-or-nothing', async () => {
    const file = dataFile();
    let clock = 1_000;
    const store = storeAt(file, () => clock);
    const before = [entry({ customTitle: 'before' })];
    await store.append(key, before);
    const stateBefore = {
      sessions: await store.listSessions('project'),
      summaries: await store.listSessionSummaries('project'),
      bytes: store.bytesWritten,
    };
    // Make the database refuse the second line of the next batch.
    store.db.exec(`
      CREATE TEMP TRIGGER poison BEFORE INSERT ON session_entries
      WHEN NEW.entry LIKE '%poison%'
      BEGIN SELECT RAISE(ABORT, 'poisoned entry'); END;
    `);

    clock = 2_000;
    await expect(
      store.append(key, [entry({ customTitle: 'after' }), entry({ text: 'poison' }), entry()]),
    ).rejects.toThrow('poisoned entry');

    expect(await store.load(key)).toStrictEqual(before);
    expect(await store.listSessions('project')).toStrictEqual(stateBefore.sessions);
    expect(await store.listSessionSummaries('project')).toStrictEqual(stateBefore.summaries);
    expect(store.bytesWritten).toBe(stateBefore.bytes);
  });

  it('fails a batch holding an entry that is not JSON, writing nothing', async () => {
    const store = storeAt(dataFile());
    await expect(store.append(key, [entry(), entry({ big: 1n })])).rejects.toThrow(TypeError);
    expect(await store.load(key)).toBeNull();
  });

  it('does not fold a replayed batch into the summary again', async () => {
    const store = storeAt(dataFile());
    const titled = [entry({ customTitle: 'old title' })];
    await store.append(key, titled);
    await store.append(key, [entry({ customTitle: 'new title' })]);
    // A late retry of the first batch must not bring the old title back.
    await store.append(key, titled);

    const [summary] = await store.listSessionSummaries('project');
    expect(summary?.data.customTitle).toBe('new title');
  });

  it('stamps mtime from its clock and never moves it backwards', async () => {
    let clock = 5_000.7;
    const store = storeAt(dataFile(), () => clock);
    await store.append(key, [entry()]);
    expect(await store.listSessions('project')).toStrictEqual([
      { sessionId: 'session-1', mtime: 5_000 },
    ]);

    clock = 9_000;
    await store.append(key, [entry()]);
    clock = 7_000;
    await store.append(key, [entry()]);
    expect(await store.listSessions('project')).toStrictEqual([
      { sessionId: 'session-1', mtime: 9_000 },
    ]);
    const [summary] = await store.listSessionSummaries('project');
    expect(summary?.mtime).toBe(9_000);
  });

  it('counts the UTF-8 bytes and entries it stores, not replayed ones', async () => {
    const store = storeAt(dataFile());
    const batch = [entry({ text: 'é👋' })];
    const json = JSON.stringify(batch[0]);

    await store.append(key, batch);
    await store.append(key, batch);

    expect(store.entriesWritten).toBe(1);
    expect(store.bytesWritten).toBe(Buffer.byteLength(json, 'utf8'));
    // é is 1 UTF-16 unit and 2 bytes, 👋 is 2 units and 4 bytes: bytes, not string length.
    expect(store.bytesWritten).toBe(json.length + 3);
  });

  it('writes rows in proportion to the batch, not to the transcript', async () => {
    const store = storeAt(dataFile());
    await store.append(
      key,
      Array.from({ length: 500 }, () => entry()),
    );
    const totalChanges = store.db.prepare('SELECT total_changes()').pluck();
    const before = totalChanges.get() as number;

    await store.append(key, [entry()]);

    // One entry row plus the transcript's mtime/summary row.
    expect((totalChanges.get() as number) - before).toBe(2);
  });

  it('creates its tables on a bare database it is given', async () => {
    const db = new BetterSqlite3(':memory:');
    cleanups.push(() => db.close());
    const store = new SqliteSessionStore(db);
    await store.append(key, [entry()]);
    expect(await store.load(key)).toHaveLength(1);
    store.close();
    // The store does not close a database it did not open.
    expect(db.open).toBe(true);
  });

  it('removes every entry row of a deleted session, even without foreign keys', async () => {
    const db = new BetterSqlite3(dataFile());
    cleanups.push(() => db.close());
    db.pragma('foreign_keys = OFF');
    const store = new SqliteSessionStore(db);
    await store.append(key, [entry()]);
    await store.append({ ...key, subpath: 'subagents/a' }, [entry()]);

    await store.delete(key);

    expect(db.prepare('SELECT count(*) FROM session_entries').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM session_transcripts').pluck().get()).toBe(0);
  });
});
