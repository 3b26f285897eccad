import { REFUSAL_QUIET_MS, type RefusalLimiter } from '../../ports/refusal-limiter.js';

/**
 * RefusalLimiter in memory, for the local server: a restart forgets who was
 * refused, which costs at most one more refusal per person and restart.
 */
export class MemoryRefusalLimiter implements RefusalLimiter {
  private readonly until = new Map<string, number>();
  private readonly quietMs: number;
  private readonly now: () => number;
  /** Past this many remembered people, the expired ones are dropped (bounded memory). */
  private readonly pruneAbove: number;

  constructor(options: { quietMs?: number; now?: () => number; pruneAbove?: number } = {}) {
    this.quietMs = options.quietMs ?? REFUSAL_QUIET_MS;
    this.now = options.now ?? Date.now;
    this.pruneAbove = options.pruneAbove ?? 10_000;
  }

  async claim(key: string): Promise<boolean> {
    const now = this.now();
    const until = this.until.get(key);
    if (until !== undefined && until > now) return false;
    if (this.until.size >= this.pruneAbove) this.prune(now);
    this.until.set(key, now + this.quietMs);
    return true;
  }

  private prune(now: number): void {
    for (const [key, until] of this.until) if (until <= now) this.until.delete(key);
    // Still full of live entries (a flood of distinct strangers): forget the oldest.
    while (this.until.size >= this.pruneAbove) {
      const oldest = this.until.keys().next().value;
      if (oldest === undefined) break;
      this.until.delete(oldest);
    }
  }
}
