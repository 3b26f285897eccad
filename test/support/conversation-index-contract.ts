import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ConversationIndex,
  type TurnRecord,
  utcDay,
  VersionConflictError,
} from '../../src/ports/conversation-index.js';

export interface ConversationIndexHarness {
  index: ConversationIndex;
  /** Runs after each test (close connections, remove temp files, drop tables). */
  cleanup?: () => Promise<void>;
}

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

/**
 * The behaviour every ConversationIndex adapter must show, written against
 * the port only, so the SQLite and DynamoDB adapters run the same suite.
 * `makeIndex` is called before every test and must return an index holding
 * no records (the expiry tests list everything that has expired).
 */
export function describeConversationIndexContract(
  name: string,
  makeIndex: () => Promise<ConversationIndexHarness>,
): void {
  describe(`ConversationIndex contract: ${name}`, () => {
    let harness: ConversationIndexHarness | undefined;
    let index: ConversationIndex;

    beforeEach(async () => {
      harness = await makeIndex();
      index = harness.index;
    });

    afterEach(async () => {
      await harness?.cleanup?.();
      harness = undefined;
    });

    it('returns null for an unknown conversation', async () => {
      expect(await index.get(conversation())).toBeNull();
    });

    it('creates the record on the first turn', async () => {
      const id = conversation();
      const record = await index.recordTurn(
        id,
        turn({ at: T0, ttlMs: HOUR, sessionCostUsd: 0.4 }),
        null,
      );

      expect(record).toStrictEqual({
        conversationId: id,
        sessionId: 'session-1',
        projectKey: 'project-1',
        lastGoodEntry: null,
        createdAt: T0,
        updatedAt: T0,
        expiresAt: T0 + HOUR,
        turns: 1,
        inputTokens: 100,
        outputTokens: 20,
        costUsd: 0.25,
        sessionCostUsd: 0.4,
        costDay: '2023-11-14',
        costDayUsd: 0.25,
        version: record.version,
      });
      expect(Number.isInteger(record.version)).toBe(true);
      expect(await index.get(id)).toStrictEqual(record);
    });

    it('accumulates totals and moves the session and expiry forward', async () => {
      const id = conversation();
      const first = await index.recordTurn(id, turn({ at: T0 }), null);
      const second = await index.recordTurn(
        id,
        turn({
          sessionId: 'session-2',
          projectKey: 'project-2',
          inputTokens: 7,
          outputTokens: 3,
          costUsd: 0.5,
          sessionCostUsd: 0.5,
          at: T0 + 1_000,
          ttlMs: 2 * HOUR,
        }),
        first.version,
      );

      expect(second).toMatchObject({
        conversationId: id,
        sessionId: 'session-2',
        projectKey: 'project-2',
        createdAt: T0,
        updatedAt: T0 + 1_000,
        expiresAt: T0 + 1_000 + 2 * HOUR,
        turns: 2,
        inputTokens: 107,
        outputTokens: 23,
        version: first.version + 1,
      });
      expect(second.costUsd).toBeCloseTo(0.75, 10);
      // The session's running total is replaced, not added to.
      expect(second.sessionCostUsd).toBe(0.5);
      expect(await index.get(id)).toStrictEqual(second);
    });

    it('counts the cost of each UTC day, starting afresh on a new day', async () => {
      const id = conversation();
      // T0 is 22:13 UTC: two hours later it is the next day.
      const first = await index.recordTurn(id, turn({ at: T0, costUsd: 0.25 }), null);
      const sameDay = await index.recordTurn(
        id,
        turn({ at: T0 + HOUR, costUsd: 0.5 }),
        first.version,
      );
      expect(sameDay.costDay).toBe(utcDay(T0));
      expect(sameDay.costDayUsd).toBeCloseTo(0.75, 10);

      const nextDay = await index.recordTurn(
        id,
        turn({ at: T0 + 2 * HOUR, costUsd: 0.125 }),
        sameDay.version,
      );
      expect(nextDay.costDay).toBe('2023-11-15');
      expect(nextDay.costDayUsd).toBeCloseTo(0.125, 10);
      expect(nextDay.costUsd).toBeCloseTo(0.875, 10);
      expect(await index.get(id)).toStrictEqual(nextDay);
    });

    it("leaves the day's cost alone for a turn of an earlier day", async () => {
      const id = conversation();
      const today = await index.recordTurn(id, turn({ at: T0 + 2 * HOUR, costUsd: 0.5 }), null);
      // A turn that started before midnight and was recorded after.
      const late = await index.recordTurn(id, turn({ at: T0, costUsd: 0.25 }), today.version);
      expect(late.costDay).toBe('2023-11-15');
      expect(late.costDayUsd).toBeCloseTo(0.5, 10);
      expect(late.costUsd).toBeCloseTo(0.75, 10);
    });

    it('rejects a first turn when the record already exists, changing nothing', async () => {
      const id = conversation();
      const existing = await index.recordTurn(id, turn(), null);

      await expectConflict(index.recordTurn(id, turn({ sessionId: 'intruder' }), null));
      expect(await index.get(id)).toStrictEqual(existing);
    });

    it('rejects a stale expected version, changing nothing', async () => {
      const id = conversation();
      const first = await index.recordTurn(id, turn(), null);
      const second = await index.recordTurn(id, turn({ at: T0 + 1 }), first.version);

      await expectConflict(index.recordTurn(id, turn({ sessionId: 'stale' }), first.version));
      expect(await index.get(id)).toStrictEqual(second);
    });

    it('rejects an expected version when the record no longer exists', async () => {
      const id = conversation();
      const first = await index.recordTurn(id, turn(), null);
      await index.delete(id);

      await expectConflict(index.recordTurn(id, turn(), first.version));
      expect(await index.get(id)).toBeNull();
    });

    it('lets exactly one of two writers racing from one version win', async () => {
      const id = conversation();
      const first = await index.recordTurn(id, turn(), null);

      const results = await Promise.allSettled([
        index.recordTurn(id, turn({ sessionId: 'a', inputTokens: 1 }), first.version),
        index.recordTurn(id, turn({ sessionId: 'b', inputTokens: 2 }), first.version),
      ]);

      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
      const record = await index.get(id);
      expect(record).toStrictEqual((won[0] as PromiseFulfilledResult<unknown>).value);
      expect(record?.turns).toBe(2);
    });

    it('resetSession forgets the session, keeps totals and bumps the version', async () => {
      const id = conversation();
      const before = await index.recordTurn(
        id,
        turn({ at: T0, ttlMs: HOUR, sessionCostUsd: 1.5 }),
        null,
      );

      await index.resetSession(id);
      const after = await index.get(id);

      expect(after).toMatchObject({
        conversationId: id,
        sessionId: null,
        projectKey: null,
        createdAt: before.createdAt,
        turns: before.turns,
        inputTokens: before.inputTokens,
        outputTokens: before.outputTokens,
        costUsd: before.costUsd,
        sessionCostUsd: 0,
        // A new session is no way round the daily budget.
        costDay: before.costDay,
        costDayUsd: before.costDayUsd,
        version: before.version + 1,
      });
      // A turn that read the record before the reset must not resurrect the old session.
      await expectConflict(index.recordTurn(id, turn(), before.version));

      const next = await index.recordTurn(
        id,
        turn({ sessionId: 'fresh', at: T0 + HOUR }),
        after?.version ?? null,
      );
      expect(next).toMatchObject({
        sessionId: 'fresh',
        turns: 2,
        inputTokens: 200,
        sessionCostUsd: 0.25,
      });
    });

    it('records the last good entry of a turn, replaces or clears it, and forgets it on reset', async () => {
      const id = conversation();
      const first = await index.recordTurn(id, turn({ lastGoodEntry: 'entry-1' }), null);
      expect(first.lastGoodEntry).toBe('entry-1');
      expect((await index.get(id))?.lastGoodEntry).toBe('entry-1');

      const second = await index.recordTurn(
        id,
        turn({ lastGoodEntry: 'entry-2', at: T0 + 1 }),
        first.version,
      );
      expect(second.lastGoodEntry).toBe('entry-2');
      // A turn that names none (a new session with nothing settled yet) clears it.
      const third = await index.recordTurn(id, turn({ at: T0 + 2 }), second.version);
      expect(third.lastGoodEntry).toBeNull();

      const fourth = await index.recordTurn(
        id,
        turn({ lastGoodEntry: 'entry-4', at: T0 + 3 }),
        third.version,
      );
      await index.resetSession(id);
      const after = await index.get(id);
      expect(after).toMatchObject({ sessionId: null, lastGoodEntry: null });
      expect(after?.version).toBe(fourth.version + 1);
    });

    it('resetSession of an unknown conversation creates nothing', async () => {
      const id = conversation();
      await index.resetSession(id);
      expect(await index.get(id)).toBeNull();
    });

    it('lists records that hold a session and expired before now, up to the limit', async () => {
      const now = T0 + 10 * HOUR;
      const expired = [conversation(), conversation(), conversation()];
      for (const [i, id] of expired.entries()) {
        await index.recordTurn(id, turn({ at: T0 + i, ttlMs: HOUR }), null);
      }
      const expiresNow = conversation();
      await index.recordTurn(expiresNow, turn({ at: now - HOUR, ttlMs: HOUR }), null);
      const live = conversation();
      await index.recordTurn(live, turn({ at: now, ttlMs: HOUR }), null);
      // Reset records have no transcript left to sweep; listing them would
      // let them crowd out the ones that do, forever.
      const reset = conversation();
      await index.recordTurn(reset, turn({ at: T0, ttlMs: HOUR }), null);
      await index.resetSession(reset);

      const all = await index.listExpired(now, 10);
      expect(all.map((r) => r.conversationId).sort()).toStrictEqual([...expired].sort());
      for (const record of all) {
        expect(record).toStrictEqual(await index.get(record.conversationId));
      }

      const limited = await index.listExpired(now, 2);
      expect(limited).toHaveLength(2);
      for (const record of limited) expect(expired).toContain(record.conversationId);
    });

    it('delete removes the record, and the next first turn starts from zero', async () => {
      const id = conversation();
      await index.recordTurn(id, turn(), null);
      await index.delete(id);
      expect(await index.get(id)).toBeNull();

      const fresh = await index.recordTurn(id, turn({ at: T0 + HOUR }), null);
      expect(fresh).toMatchObject({ turns: 1, inputTokens: 100, createdAt: T0 + HOUR });

      // Deleting what does not exist is not an error.
      await index.delete(conversation());
    });
  });
}

function conversation(): string {
  return `test:telegram:${randomUUID()}:-`;
}

function turn(overrides: Partial<TurnRecord> = {}): TurnRecord {
  return {
    sessionId: 'session-1',
    projectKey: 'project-1',
    inputTokens: 100,
    outputTokens: 20,
    costUsd: 0.25,
    sessionCostUsd: 0.25,
    at: T0,
    ttlMs: HOUR,
    ...overrides,
  };
}

async function expectConflict(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(VersionConflictError);
  expect((error as Error).name).toBe('VersionConflictError');
}
