import { canCombine, type LaneKind } from '../../domain/inbound-message.js';
import { TurnAbandoned } from '../../domain/turn.js';
import type { ClaimedBatch, JobQueue } from '../../ports/job-queue.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { ReplyOutbox } from '../../ports/reply-outbox.js';
import type { BatchResult, ConversationWorker } from './conversation-worker.js';

export interface WorkerPoolOptions {
  queue: JobQueue;
  worker: ConversationWorker;
  outbox: ReplyOutbox;
  /** Agent turns running at once (different conversations). */
  concurrency: number;
  /** Control messages (/stop, /status, notices) handled at once; they never wait for turns. */
  controlConcurrency?: number | undefined;
  /** Most queued messages answered by one turn. */
  maxBatch?: number | undefined;
  leaseMs?: number | undefined;
  /** Delay before the retry that follows failed attempt `attempt` (1-based). */
  backoffMs?: ((attempt: number) => number) | undefined;
  /** Longest sleep between looks at the queue when nothing wakes the pool. */
  pollIntervalMs?: number | undefined;
  logger?: Logger | undefined;
}

/** 2 s, 8 s, 32 s, then a minute. */
export function defaultBackoff(attempt: number): number {
  return Math.min(60_000, 2_000 * 4 ** Math.max(0, attempt - 1));
}

/**
 * Drives a ConversationWorker from a JobQueue in one process: claims ready
 * lanes up to the concurrency limits, keeps their leases alive while a batch
 * runs, and records each batch's outcome. Ingress calls `notify()` after an
 * enqueue so a new message starts without waiting for the next poll.
 */
export class WorkerPool {
  private readonly logger: Logger;
  private readonly inFlight = new Map<LaneKind, number>([
    ['turn', 0],
    ['control', 0],
  ]);
  private readonly tasks = new Set<Promise<void>>();
  private wakers = new Set<() => void>();
  private readonly shutdown = new AbortController();
  private loops: Promise<void>[] = [];
  private stopping = false;

  constructor(private readonly options: WorkerPoolOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    const recovered = await this.options.queue.recoverInterrupted();
    if (recovered > 0) {
      this.logger.warn('resuming messages interrupted by the previous run', { jobs: recovered });
    }
    this.loops = [
      this.loop('turn', this.options.concurrency),
      this.loop('control', this.options.controlConcurrency ?? 4),
    ];
  }

  /** Something was enqueued or finished: look at the queue now. */
  notify(): void {
    const wakers = this.wakers;
    this.wakers = new Set();
    for (const wake of wakers) wake();
  }

  /**
   * Stop claiming, abandon running turns (their messages go back to the queue
   * and run again on the next start), and wait for every batch to settle.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.shutdown.abort(new TurnAbandoned('shutting down'));
    this.notify();
    await Promise.all(this.loops);
    await Promise.all([...this.tasks]);
  }

  /** Started and not stopping: its loops are claiming work. */
  get running(): boolean {
    return this.loops.length > 0 && !this.stopping;
  }

  /** Batches in progress, by lane kind. */
  get busy(): number {
    return (this.inFlight.get('turn') ?? 0) + (this.inFlight.get('control') ?? 0);
  }

  private async loop(kind: LaneKind, limit: number): Promise<void> {
    while (!this.stopping) {
      if ((this.inFlight.get(kind) ?? 0) >= limit) {
        await this.sleep(this.options.pollIntervalMs ?? 1_000);
        continue;
      }
      let batch: ClaimedBatch | null = null;
      try {
        batch = await this.options.queue.claim(kind, {
          maxJobs: kind === 'turn' ? (this.options.maxBatch ?? 50) : 1,
          leaseMs: this.leaseMs,
          canCombine,
        });
      } catch (error) {
        this.logger.error('claiming from the queue failed', { kind, error: String(error) });
      }
      if (!batch) {
        await this.sleep(await this.idleDelay(kind));
        continue;
      }
      this.run(batch);
    }
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? 15 * 60_000;
  }

  private async idleDelay(kind: LaneKind): Promise<number> {
    const poll = this.options.pollIntervalMs ?? 1_000;
    try {
      const due = await this.options.queue.nextDueAt(kind);
      if (due === null) return poll;
      return Math.min(poll, Math.max(10, due - Date.now()));
    } catch {
      return poll;
    }
  }

  private run(batch: ClaimedBatch): void {
    const kind = batch.kind;
    this.inFlight.set(kind, (this.inFlight.get(kind) ?? 0) + 1);
    const task = this.process(batch).finally(() => {
      this.inFlight.set(kind, (this.inFlight.get(kind) ?? 0) - 1);
      this.tasks.delete(task);
      this.notify();
    });
    this.tasks.add(task);
  }

  private async process(batch: ClaimedBatch): Promise<void> {
    const { queue } = this.options;
    const ids = batch.jobs.map((job) => job.id);
    const heartbeat = setInterval(() => {
      queue.extendLease(ids, this.leaseMs).catch((error: unknown) => {
        this.logger.warn('extending a lease failed', { error: String(error) });
      });
    }, this.leaseMs / 3);
    heartbeat.unref?.();
    let result: BatchResult;
    try {
      result = await this.options.worker.handle({
        kind: batch.kind,
        messages: batch.jobs.map((job) => job.message),
        attempt: batch.attempt,
        shutdown: this.shutdown.signal,
      });
    } catch (error) {
      // The worker handles failures it knows; anything else (storage down) is retried.
      this.logger.error('batch crashed', {
        conversationId: batch.conversationId,
        error: String(error),
      });
      result = this.shutdown.signal.aborted
        ? { type: 'released' }
        : { type: 'retry', error: String(error) };
    } finally {
      clearInterval(heartbeat);
    }
    try {
      await this.settle(batch, ids, result);
    } catch (error) {
      // The lease runs out or the next start recovers the jobs; nothing is lost.
      this.logger.error('recording a batch outcome failed', {
        conversationId: batch.conversationId,
        error: String(error),
      });
    }
  }

  private async settle(batch: ClaimedBatch, ids: string[], result: BatchResult): Promise<void> {
    const { queue, outbox } = this.options;
    switch (result.type) {
      case 'released':
        await queue.release(ids);
        return;
      case 'retry': {
        const delay = (this.options.backoffMs ?? defaultBackoff)(batch.attempt);
        await queue.retry(ids, delay, result.error);
        return;
      }
      case 'settled':
        if (result.completed.length > 0) await queue.complete(result.completed);
        if (result.deadLettered.length > 0) {
          await queue.deadLetter(result.deadLettered, result.error ?? 'failed');
        }
        if (result.released.length > 0) await queue.release(result.released);
        await outbox.delete(result.outboxKey);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}
