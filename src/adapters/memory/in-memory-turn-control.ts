import type { RunningTurn, TurnControl } from '../../ports/turn-control.js';

/**
 * Turn control for one process: the turns it runs, and their abort switches.
 * Enough for the local server, where the worker pool and the `/stop` handler
 * share the process.
 */
export class InMemoryTurnControl implements TurnControl {
  private readonly running = new Map<string, { controller: AbortController; since: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  begin(conversationId: string): RunningTurn {
    const entry = { controller: new AbortController(), since: this.now() };
    this.running.set(conversationId, entry);
    return {
      signal: entry.controller.signal,
      end: () => {
        if (this.running.get(conversationId) === entry) this.running.delete(conversationId);
      },
    };
  }

  async runningSince(conversationId: string): Promise<number | null> {
    return this.running.get(conversationId)?.since ?? null;
  }

  async requestStop(conversationId: string): Promise<boolean> {
    const entry = this.running.get(conversationId);
    if (!entry || entry.controller.signal.aborted) return false;
    entry.controller.abort(new Error('stopped by /stop'));
    return true;
  }

  /** Stop every running turn (shutdown). */
  stopAll(): void {
    for (const entry of this.running.values()) entry.controller.abort(new Error('shutting down'));
  }
}
