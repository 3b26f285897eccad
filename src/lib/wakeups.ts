/**
 * Waiters woken together: a turn waiting for a change to what a store holds,
 * woken at once by a change made through the same store. A wait ends at the
 * next `wake()`, when `signal` aborts, or after `pollMs` if given (for changes
 * made elsewhere, which call no `wake()` here); it never rejects.
 */
export class Wakeups {
  private readonly waiters = new Set<() => void>();

  next(signal: AbortSignal, pollMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = pollMs === undefined ? undefined : setTimeout(done, pollMs);
      timer?.unref();
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
