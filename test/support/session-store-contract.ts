import { randomUUID } from 'node:crypto';
import {
  foldSessionSummary,
  type SessionKey,
  type SessionStore,
  type SessionStoreEntry,
} from '@anthropic-ai/claude-agent-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

export interface SessionStoreHarness {
  store: SessionStore;
  /** Runs after each test (close connections, remove temp files). */
  cleanup?: () => Promise<void>;
}

export interface SessionStoreContractOptions {
  /** Whether the store maintains `listSessionSummaries` (default true). */
  summaries?: boolean;
}

/**
 * The behaviour every `SessionStore` adapter must show, written against the
 * SDK's interface only, so each adapter (SQLite, DynamoDB, S3, ...) runs the
 * same suite. `makeStore` is called before every test; keys are random per
 * test, so a store shared between tests is fine.
 */
export function describeSessionStoreContract(
  name: string,
  makeStore: () => Promise<SessionStoreHarness>,
  options: SessionStoreContractOptions = {},
): void {
  describe(`SessionStore contract: ${name}`, () => {
    let harness: SessionStoreHarness | undefined;
    let store: SessionStore;
    let projectKey: string;

    beforeEach(async () => {
      harness = await makeStore();
      store = harness.store;
      projectKey = `project-${randomUUID()}`;
    });

    afterEach(async () => {
      await harness?.cleanup?.();
      harness = undefined;
    });

    const mainKey = (sessionId: string = randomUUID()): SessionKey => ({ projectKey, sessionId });

    it('returns null for a key that was never written', async () => {
      const key = mainKey();
      expect(await store.load(key)).toBeNull();

      await store.append(key, [entry()]);
      expect(await store.load({ ...key, subpath: 'subagents/agent-never' })).toBeNull();
      expect(await store.load({ ...key, projectKey: `${projectKey}-other` })).toBeNull();
      expect(await store.load(mainKey())).toBeNull();
    });

    it('loads entries deep-equal and in append order across batches', async () => {
      const key = mainKey();
      const batches = [
        [entry({ text: 'first' }), entry({ text: 'ünïcödé — 日本語 — 👋🏽' })],
        [entry({ nested: { a: [1, 2.5, -3e-7, null, true, { b: [[], {}] }], empty: '' } })],
        [entry({ text: 'line\nbreak\t"quoted" \\ back\u0000slash' }), entry(), entry()],
      ];
      for (const batch of batches) await store.append(key, batch);

      expect(await store.load(key)).toStrictEqual(batches.flat());
    });

    it('skips entries whose uuid was already appended (replayed batch)', async () => {
      const key = mainKey();
      const first = [entry(), entry()];
      const second = [entry(), entry()];
      await store.append(key, first);
      await store.append(key, second);

      await store.append(key, first);
      expect(await store.load(key)).toStrictEqual([...first, ...second]);

      // A retry that overlaps what landed: only the new entry is added, once.
      const third = entry();
      await store.append(key, [second[1] as SessionStoreEntry, third]);
      await store.append(key, [second[1] as SessionStoreEntry, third]);
      expect(await store.load(key)).toStrictEqual([...first, ...second, third]);
    });

    it('appends entries without uuid every time', async () => {
      const key = mainKey();
      const marker: SessionStoreEntry = { type: 'custom-title', customTitle: 'same' };
      await store.append(key, [marker]);
      await store.append(key, [marker, marker]);

      expect(await store.load(key)).toStrictEqual([marker, marker, marker]);
    });

    it('scopes uuid idempotency to one (projectKey, sessionId, subpath)', async () => {
      const shared = entry();
      const key = mainKey();
      const keys: SessionKey[] = [
        key,
        { ...key, subpath: 'subagents/agent-a' },
        mainKey(),
        { ...key, projectKey: `${projectKey}-other` },
      ];
      for (const k of keys) await store.append(k, [shared]);

      for (const k of keys) expect(await store.load(k)).toStrictEqual([shared]);
    });

    it('treats append([]) as a no-op that creates nothing', async () => {
      const fresh = mainKey();
      await store.append(fresh, []);
      expect(await store.load(fresh)).toBeNull();
      expect(await sessionIds(store, projectKey)).not.toContain(fresh.sessionId);

      const existing = mainKey();
      const entries = [entry()];
      await store.append(existing, entries);
      await store.append(existing, []);
      expect(await store.load(existing)).toStrictEqual(entries);
    });

    it('keeps subagent transcripts apart from the main one and lists their subpaths', async () => {
      const key = mainKey();
      const main = [entry({ text: 'main' })];
      const a = [entry({ text: 'agent a' }), entry()];
      const b = [entry({ text: 'agent b' })];
      await store.append(key, main);
      await store.append({ ...key, subpath: 'subagents/agent-a' }, a);
      await store.append({ ...key, subpath: 'subagents/agent-b' }, b);

      expect(await store.load(key)).toStrictEqual(main);
      expect(await store.load({ ...key, subpath: 'subagents/agent-a' })).toStrictEqual(a);
      expect(await store.load({ ...key, subpath: 'subagents/agent-b' })).toStrictEqual(b);
      expect(await subkeys(store, key)).toStrictEqual(['subagents/agent-a', 'subagents/agent-b']);
      expect(await subkeys(store, mainKey())).toStrictEqual([]);
    });

    it('lists main transcripts only, with an integer epoch-ms mtime', async () => {
      const one = mainKey();
      const two = mainKey();
      await store.append(one, [entry()]);
      await store.append({ ...one, subpath: 'subagents/agent-a' }, [entry()]);
      await store.append(two, [entry()]);

      const sessions = await requireMethod(store.listSessions, 'listSessions').call(
        store,
        projectKey,
      );
      expect(sessions.map((s) => s.sessionId).sort()).toStrictEqual(
        [one.sessionId, two.sessionId].sort(),
      );
      for (const { mtime } of sessions) {
        expect(Number.isInteger(mtime)).toBe(true);
        // Milliseconds, and a storage write time: close to now, not 1970 or seconds.
        expect(Math.abs(mtime - Date.now())).toBeLessThan(10 * 60_000);
      }
    });

    it('moves mtime forward when a session is appended to again', async () => {
      const key = mainKey();
      await store.append(key, [entry()]);
      const before = await mtimeOf(store, key);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await store.append(key, [entry()]);
      expect(await mtimeOf(store, key)).toBeGreaterThanOrEqual(before);
    });

    it('deletes a main key together with its subagent transcripts', async () => {
      const key = mainKey();
      const other = mainKey();
      await store.append(key, [entry()]);
      await store.append({ ...key, subpath: 'subagents/agent-a' }, [entry()]);
      await store.append({ ...key, subpath: 'subagents/agent-b' }, [entry()]);
      const kept = [entry()];
      await store.append(other, kept);

      await requireMethod(store.delete, 'delete').call(store, key);

      expect(await store.load(key)).toBeNull();
      expect(await store.load({ ...key, subpath: 'subagents/agent-a' })).toBeNull();
      expect(await store.load({ ...key, subpath: 'subagents/agent-b' })).toBeNull();
      expect(await subkeys(store, key)).toStrictEqual([]);
      expect(await sessionIds(store, projectKey)).toStrictEqual([other.sessionId]);
      expect(await store.load(other)).toStrictEqual(kept);
      if (options.summaries !== false) {
        const summaries = await summariesOf(store, projectKey);
        expect(summaries.map((s) => s.sessionId)).toStrictEqual([other.sessionId]);
      }

      // Deleting again, or deleting what never existed, is not an error.
      await requireMethod(store.delete, 'delete').call(store, key);
      await requireMethod(store.delete, 'delete').call(store, mainKey());
    });

    it('deletes only the given subagent transcript when the key has a subpath', async () => {
      const key = mainKey();
      const main = [entry()];
      const b = [entry()];
      await store.append(key, main);
      await store.append({ ...key, subpath: 'subagents/agent-a' }, [entry()]);
      await store.append({ ...key, subpath: 'subagents/agent-b' }, b);

      await requireMethod(store.delete, 'delete').call(store, {
        ...key,
        subpath: 'subagents/agent-a',
      });

      expect(await store.load({ ...key, subpath: 'subagents/agent-a' })).toBeNull();
      expect(await store.load({ ...key, subpath: 'subagents/agent-b' })).toStrictEqual(b);
      expect(await store.load(key)).toStrictEqual(main);
      expect(await subkeys(store, key)).toStrictEqual(['subagents/agent-b']);
      expect(await sessionIds(store, projectKey)).toStrictEqual([key.sessionId]);
    });

    it('isolates project keys that share a session id', async () => {
      const sessionId = randomUUID();
      const otherProject = `${projectKey}-other`;
      const mine = [entry({ text: 'mine' })];
      const theirs = [entry({ text: 'theirs' })];
      await store.append({ projectKey, sessionId }, mine);
      await store.append({ projectKey: otherProject, sessionId }, theirs);
      await store.append({ projectKey: otherProject, sessionId, subpath: 'subagents/x' }, theirs);

      expect(await store.load({ projectKey, sessionId })).toStrictEqual(mine);
      expect(await subkeys(store, { projectKey, sessionId })).toStrictEqual([]);
      expect(await sessionIds(store, projectKey)).toStrictEqual([sessionId]);

      await requireMethod(store.delete, 'delete').call(store, { projectKey, sessionId });
      expect(await store.load({ projectKey: otherProject, sessionId })).toStrictEqual(theirs);
      expect(await subkeys(store, { projectKey: otherProject, sessionId })).toStrictEqual([
        'subagents/x',
      ]);
    });

    it('round-trips a large entry (~500 KB)', async () => {
      const key = mainKey();
      const big = entry({ text: 'é🙂x'.repeat(70_000) });
      const entries = [entry(), big, entry()];
      await store.append(key, entries);

      expect(await store.load(key)).toStrictEqual(entries);
    });

    it('keeps every entry of concurrent appends to one session', async () => {
      const key = mainKey();
      const batches = Array.from({ length: 10 }, () => [entry(), entry()]);
      await Promise.all(batches.map((batch) => store.append(key, batch)));

      const loaded = (await store.load(key)) ?? [];
      expect(loaded).toHaveLength(20);
      expect(new Set(loaded.map((e) => e.uuid))).toStrictEqual(
        new Set(batches.flat().map((e) => e.uuid)),
      );
    });

    if (options.summaries !== false) {
      it('maintains summaries folded from the main transcript, stamped with its mtime', async () => {
        const key = mainKey();
        const first = [
          entry({ cwd: '/work/a', timestamp: '2025-01-02T03:04:05.000Z' }),
          { type: 'custom-title', customTitle: 'first title' },
        ];
        const second = [entry({ gitBranch: 'main' }), { type: 'tag', tag: 'keep' }];
        await store.append(key, first);
        await store.append(key, second);
        // Subagent lines belong to their own transcript, not the session's summary.
        await store.append({ ...key, subpath: 'subagents/agent-a' }, [
          { type: 'custom-title', customTitle: 'subagent title' },
        ]);

        const expected = foldSessionSummary(
          foldSessionSummary(undefined, key, first, { mtime: 0 }),
          key,
          second,
          { mtime: 0 },
        );
        const summaries = await summariesOf(store, projectKey);
        expect(summaries).toHaveLength(1);
        const [summary] = summaries;
        expect(summary?.sessionId).toBe(key.sessionId);
        expect(summary?.data).toStrictEqual(expected.data);
        expect(summary?.data.customTitle).toBe('first title');
        // Shares the clock of listSessions, as the SDK's staleness check requires.
        expect(summary?.mtime).toBe(await mtimeOf(store, key));
      });
    }
  });
}

let counter = 0;

/** A transcript line shaped like the SDK's, with a fresh uuid. */
function entry(extra: Record<string, unknown> = {}): SessionStoreEntry {
  counter += 1;
  return {
    type: 'user',
    uuid: randomUUID(),
    timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, counter)).toISOString(),
    message: { role: 'user', content: [{ type: 'text', text: `message ${counter}` }] },
    ...extra,
  };
}

function requireMethod<T>(method: T | undefined, name: string): T {
  if (method === undefined) throw new Error(`this SessionStore does not implement ${name}()`);
  return method;
}

async function sessionIds(store: SessionStore, projectKey: string): Promise<string[]> {
  const sessions = await requireMethod(store.listSessions, 'listSessions').call(store, projectKey);
  return sessions.map((s) => s.sessionId).sort();
}

async function mtimeOf(store: SessionStore, key: SessionKey): Promise<number> {
  const sessions = await requireMethod(store.listSessions, 'listSessions').call(
    store,
    key.projectKey,
  );
  const session = sessions.find((s) => s.sessionId === key.sessionId);
  if (!session) throw new Error(`session ${key.sessionId} is not listed`);
  return session.mtime;
}

async function subkeys(
  store: SessionStore,
  key: { projectKey: string; sessionId: string },
): Promise<string[]> {
  const found = await requireMethod(store.listSubkeys, 'listSubkeys').call(store, key);
  return [...found].sort();
}

async function summariesOf(store: SessionStore, projectKey: string) {
  return requireMethod(store.listSessionSummaries, 'listSessionSummaries').call(store, projectKey);
}
