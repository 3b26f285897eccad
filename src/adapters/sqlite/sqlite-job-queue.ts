import { conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import {
  holdBackMs,
  type InboundMessage,
  type LaneKind,
  parseInboundMessage,
} from '../../domain/inbound-message.js';
import type {
  ClaimedBatch,
  ClaimOptions,
  EnqueueResult,
  JobQueue,
  QueuedJob,
} from '../../ports/job-queue.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import { migrate, type SqliteDatabase } from './database.js';

export interface SqliteJobQueueOptions {
  now?: () => number;
  logger?: Logger;
}

export interface PruneOptions {
  /** Forget message ids (dedupe) older than this. Default 7 days: Telegram redelivers for 24 h. */
  seenRetentionMs?: number;
  /** Drop dead letters older than this. Default 30 days. */
  deadRetentionMs?: number;
  /** Drop outbox entries older than this (left by a crash after the jobs completed). */
  outboxRetentionMs?: number;
}

interface JobRow {
  seq: number;
  id: string;
  lane: string;
  kind: LaneKind;
  conversation_id: string;
  payload: string;
  state: 'pending' | 'leased' | 'dead';
  attempts: number;
  due_at: number;
  enqueued_at: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The job queue in the local SQLite database. better-sqlite3 is synchronous,
 * so each operation is one short transaction; a claim is taken under the
 * write lock (`BEGIN IMMEDIATE`), so two pools on one file could not lease the
 * same lane twice either.
 */
export class SqliteJobQueue implements JobQueue {
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly statements;

  constructor(
    readonly db: SqliteDatabase,
    options: SqliteJobQueueOptions = {},
  ) {
    migrate(db);
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.statements = {
      markSeen: db.prepare<[string, number]>(
        'INSERT INTO seen_messages (id, seen_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      insert: db.prepare(
        `INSERT INTO jobs (id, lane, kind, conversation_id, payload, state, attempts, due_at, enqueued_at)
         VALUES (@id, @lane, @kind, @conversationId, @payload, 'pending', 0, @due, @now)`,
      ),
      expireLeases: db.prepare<[number]>(
        `UPDATE jobs SET state = 'pending', lease_until = NULL
         WHERE state = 'leased' AND lease_until <= ?`,
      ),
      // A lane is ready when its oldest live job is pending and due: leased
      // jobs are always the front of their lane, so this also means "no batch
      // of this lane is in flight".
      readyHead: db.prepare<[LaneKind, number], JobRow>(
        `SELECT * FROM jobs AS j
         WHERE j.kind = ? AND j.state = 'pending' AND j.due_at <= ?
           AND j.seq = (SELECT MIN(k.seq) FROM jobs AS k WHERE k.lane = j.lane AND k.state <> 'dead')
         ORDER BY j.seq LIMIT 1`,
      ),
      laneFrom: db.prepare<[string, number, number], JobRow>(
        `SELECT * FROM jobs WHERE lane = ? AND state = 'pending' AND seq >= ?
         ORDER BY seq LIMIT ?`,
      ),
      lease: db.prepare<[number, string]>(
        `UPDATE jobs SET state = 'leased', lease_until = ?, attempts = attempts + 1 WHERE id = ?`,
      ),
      extend: db.prepare<[number, string]>(
        `UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'leased'`,
      ),
      complete: db.prepare<[string]>('DELETE FROM jobs WHERE id = ?'),
      release: db.prepare<[string]>(
        `UPDATE jobs SET state = 'pending', lease_until = NULL, attempts = MAX(0, attempts - 1)
         WHERE id = ? AND state = 'leased'`,
      ),
      retry: db.prepare<[number, string, string]>(
        `UPDATE jobs SET state = 'pending', lease_until = NULL, due_at = ?, last_error = ?
         WHERE id = ? AND state <> 'dead'`,
      ),
      dead: db.prepare<[number, string, string]>(
        `UPDATE jobs SET state = 'dead', lease_until = NULL, finished_at = ?, last_error = ?
         WHERE id = ?`,
      ),
      recover: db.prepare(
        `UPDATE jobs SET state = 'pending', lease_until = NULL WHERE state = 'leased'`,
      ),
      nextDue: db.prepare<[LaneKind, LaneKind], { due: number | null }>(
        `SELECT MIN(due) AS due FROM (
           SELECT j.due_at AS due FROM jobs AS j
           WHERE j.kind = ? AND j.state = 'pending'
             AND j.seq = (SELECT MIN(k.seq) FROM jobs AS k WHERE k.lane = j.lane AND k.state <> 'dead')
           UNION ALL
           SELECT lease_until AS due FROM jobs WHERE kind = ? AND state = 'leased'
         )`,
      ),
      counts: db.prepare<[], { state: string; count: number }>(
        'SELECT state, COUNT(*) AS count FROM jobs GROUP BY state',
      ),
      deadLetters: db.prepare<
        [],
        { id: string; payload: string; last_error: string | null; attempts: number }
      >(`SELECT id, payload, last_error, attempts FROM jobs WHERE state = 'dead' ORDER BY seq`),
      pruneSeen: db.prepare<[number]>('DELETE FROM seen_messages WHERE seen_at < ?'),
      pruneDead: db.prepare<[number]>(`DELETE FROM jobs WHERE state = 'dead' AND finished_at < ?`),
      pruneOutbox: db.prepare<[number]>('DELETE FROM reply_outbox WHERE created_at < ?'),
    };
  }

  async enqueue(message: InboundMessage, kind: LaneKind): Promise<EnqueueResult> {
    const now = this.now();
    const id = conversationId(message.conversation);
    return this.db.transaction((): EnqueueResult => {
      if (this.statements.markSeen.run(message.id, now).changes === 0) return 'duplicate';
      this.statements.insert.run({
        id: message.id,
        lane: `${id}|${kind}`,
        kind,
        conversationId: id,
        payload: JSON.stringify(message),
        now,
        // An album's message waits for its siblings, which then join it as followers (holdBackMs).
        due: now + holdBackMs(message),
      });
      return 'enqueued';
    })();
  }

  async claim(kind: LaneKind, options: ClaimOptions): Promise<ClaimedBatch | null> {
    const claimOnce = this.db.transaction((): ClaimedBatch | null | 'again' => {
      const now = this.now();
      this.statements.expireLeases.run(now);
      const head = this.statements.readyHead.get(kind, now);
      if (!head) return null;
      const jobs: QueuedJob[] = [];
      for (const row of this.statements.laneFrom.all(
        head.lane,
        head.seq,
        Math.max(1, options.maxJobs),
      )) {
        const message = this.parse(row, now);
        if (!message) {
          // A broken head is dead-lettered; claim again. A broken follower ends the batch.
          if (jobs.length === 0) return 'again';
          break;
        }
        const first = jobs[0];
        if (first && !options.canCombine(first.message, message)) break;
        jobs.push({ id: row.id, message, attempts: row.attempts + 1, enqueuedAt: row.enqueued_at });
      }
      const leaseUntil = now + options.leaseMs;
      for (const job of jobs) this.statements.lease.run(leaseUntil, job.id);
      return {
        kind,
        conversationId: head.conversation_id,
        jobs,
        attempt: jobs[0]?.attempts ?? 1,
      };
    });
    for (;;) {
      const result = claimOnce.immediate();
      if (result !== 'again') return result;
    }
  }

  async extendLease(jobIds: readonly string[], leaseMs: number): Promise<void> {
    const until = this.now() + leaseMs;
    this.each(jobIds, (id) => this.statements.extend.run(until, id));
  }

  async complete(jobIds: readonly string[]): Promise<void> {
    this.each(jobIds, (id) => this.statements.complete.run(id));
  }

  async release(jobIds: readonly string[]): Promise<void> {
    this.each(jobIds, (id) => this.statements.release.run(id));
  }

  async retry(jobIds: readonly string[], delayMs: number, error: string): Promise<void> {
    const due = this.now() + delayMs;
    this.each(jobIds, (id) => this.statements.retry.run(due, truncate(error), id));
  }

  async deadLetter(jobIds: readonly string[], error: string): Promise<void> {
    const now = this.now();
    this.each(jobIds, (id) => this.statements.dead.run(now, truncate(error), id));
  }

  async recoverInterrupted(): Promise<number> {
    return this.statements.recover.run().changes;
  }

  async nextDueAt(kind: LaneKind): Promise<number | null> {
    return this.statements.nextDue.get(kind, kind)?.due ?? null;
  }

  /** Jobs by state (`pending`, `leased`, `dead`), for status pages and tests. */
  counts(): Record<'pending' | 'leased' | 'dead', number> {
    const counts = { pending: 0, leased: 0, dead: 0 };
    for (const row of this.statements.counts.all()) {
      if (row.state in counts) counts[row.state as keyof typeof counts] = row.count;
    }
    return counts;
  }

  /** The dead letters, oldest first, with the last error of each. */
  deadLetters(): Array<{ id: string; payload: string; error: string | null; attempts: number }> {
    return this.statements.deadLetters.all().map((row) => ({
      id: row.id,
      payload: row.payload,
      error: row.last_error,
      attempts: row.attempts,
    }));
  }

  /** Forget what is old enough to be of no use; returns rows removed. */
  prune(options: PruneOptions = {}): number {
    const now = this.now();
    return this.db.transaction(() => {
      let removed = this.statements.pruneSeen.run(
        now - (options.seenRetentionMs ?? 7 * DAY_MS),
      ).changes;
      removed += this.statements.pruneDead.run(
        now - (options.deadRetentionMs ?? 30 * DAY_MS),
      ).changes;
      removed += this.statements.pruneOutbox.run(
        now - (options.outboxRetentionMs ?? 7 * DAY_MS),
      ).changes;
      return removed;
    })();
  }

  private parse(row: JobRow, now: number): InboundMessage | null {
    try {
      return parseInboundMessage(JSON.parse(row.payload));
    } catch (error) {
      this.logger.error('unreadable job payload; moved to dead letters', {
        jobId: row.id,
        error: errorMessage(error),
      });
      this.statements.dead.run(now, truncate(`unreadable payload: ${String(error)}`), row.id);
      return null;
    }
  }

  private each(ids: readonly string[], run: (id: string) => unknown): void {
    if (ids.length === 0) return;
    this.db.transaction(() => {
      for (const id of ids) run(id);
    })();
  }
}

function truncate(text: string): string {
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}
