import { describe, expect, it } from 'vitest';
import { command, testMessage } from '../../../test/support/inbound-messages.js';
import type { InboundMessage, LaneKind } from '../../domain/inbound-message.js';
import type { EnqueueResult, JobSink } from '../../ports/job-queue.js';
import type { DedupeClaim, UpdateDedupe } from '../../ports/update-dedupe.js';
import { Ingress, UpdatePendingError } from './ingress.js';

/** A sink that keeps what it is given and can be told to fail once. */
class RecordingSink implements JobSink {
  readonly stored: Array<{ id: string; kind: LaneKind }> = [];
  failNext = false;

  async enqueue(message: InboundMessage, kind: LaneKind): Promise<EnqueueResult> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('queue unavailable');
    }
    this.stored.push({ id: message.id, kind });
    return 'enqueued';
  }
}

/** Two-phase dedupe in memory: claimed ids and committed ids; `forget` can be made to fail. */
class MemoryDedupe implements UpdateDedupe {
  readonly claimed = new Set<string>();
  readonly committed = new Set<string>();
  forgetFails = false;

  async claim(id: string): Promise<DedupeClaim> {
    if (this.committed.has(id)) return 'duplicate';
    if (this.claimed.has(id)) return 'pending';
    this.claimed.add(id);
    return 'claimed';
  }
  async commit(id: string): Promise<void> {
    this.claimed.delete(id);
    this.committed.add(id);
  }
  async forget(id: string): Promise<void> {
    if (this.forgetFails) throw new Error('table unavailable');
    this.claimed.delete(id);
  }
  /** An uncommitted claim runs out (DynamoUpdateDedupe's pendingSeconds). */
  lapse(id: string): void {
    this.claimed.delete(id);
  }
}

describe('Ingress', () => {
  it('routes texts and /new to the turn lane, other commands to the control lane', async () => {
    const sink = new RecordingSink();
    const woken: LaneKind[] = [];
    const ingress = new Ingress({ queue: sink, onEnqueued: (kind) => woken.push(kind) });
    await ingress.accept(testMessage({ id: 'a' }));
    await ingress.accept(testMessage({ id: 'b', body: command('new') }));
    await ingress.accept(testMessage({ id: 'c', body: command('stop') }));
    expect(sink.stored).toEqual([
      { id: 'a', kind: 'turn' },
      { id: 'b', kind: 'turn' },
      { id: 'c', kind: 'control' },
    ]);
    expect(woken).toEqual(['turn', 'turn', 'control']);
  });

  it('with a dedupe store, drops repeats and lets a retry through after a failed enqueue', async () => {
    const sink = new RecordingSink();
    const dedupe = new MemoryDedupe();
    const ingress = new Ingress({ queue: sink, dedupe });
    const message = testMessage({ id: 'telegram:1:9' });

    sink.failNext = true;
    await expect(ingress.accept(message)).rejects.toThrow('queue unavailable');
    expect(await ingress.accept(message)).toBe('enqueued');
    expect(await ingress.accept(message)).toBe('duplicate');
    expect(sink.stored).toHaveLength(1);
    expect(dedupe.committed.has('telegram:1:9')).toBe(true);
  });

  it('asks for a retry, never reports a duplicate, while a failed claim cannot be dropped', async () => {
    const sink = new RecordingSink();
    const dedupe = new MemoryDedupe();
    const ingress = new Ingress({ queue: sink, dedupe });
    const message = testMessage({ id: 'telegram:1:10' });

    sink.failNext = true;
    dedupe.forgetFails = true;
    await expect(ingress.accept(message)).rejects.toThrow('queue unavailable');
    // The claim is still there, uncommitted: the retry is not acknowledged as a duplicate.
    const retry = ingress.accept(message);
    await expect(retry).rejects.toBeInstanceOf(UpdatePendingError);
    expect(sink.stored).toEqual([]);

    dedupe.lapse('telegram:1:10');
    expect(await ingress.accept(message)).toBe('enqueued');
    expect(await ingress.accept(message)).toBe('duplicate');
    expect(sink.stored).toHaveLength(1);
  });
});
