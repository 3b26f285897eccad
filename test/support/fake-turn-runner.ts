import type { ConversationRef } from '../../src/domain/conversation.js';
import { conversationId } from '../../src/domain/conversation.js';
import type { TurnRequest, TurnResult } from '../../src/domain/turn.js';
import type { TurnRunner } from '../../src/ports/turn-runner.js';

/** How the fake answers one turn; may wait, and should honour `request.signal`. */
export type FakeTurn = (request: TurnRequest) => Promise<Partial<TurnResult>> | Partial<TurnResult>;

/**
 * A TurnRunner for worker tests: answers with a script (by default it echoes
 * the prompt), records every request, and tracks how many turns run at once,
 * overall and per conversation.
 */
export class FakeTurnRunner implements TurnRunner {
  readonly requests: TurnRequest[] = [];
  readonly resets: ConversationRef[] = [];
  running = 0;
  maxRunning = 0;
  readonly runningByConversation = new Map<string, number>();
  maxRunningPerConversation = 0;
  private readonly script: FakeTurn[] = [];

  constructor(private fallback: FakeTurn = (request) => ({ text: `echo: ${request.prompt}` })) {}

  /** Answer the next turns with these, in order; then the fallback. */
  next(...turns: FakeTurn[]): this {
    this.script.push(...turns);
    return this;
  }

  setFallback(turn: FakeTurn): void {
    this.fallback = turn;
  }

  get prompts(): string[] {
    return this.requests.map((request) => request.prompt);
  }

  async runTurn(request: TurnRequest): Promise<TurnResult> {
    this.requests.push(request);
    const id = conversationId(request.conversation);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const mine = (this.runningByConversation.get(id) ?? 0) + 1;
    this.runningByConversation.set(id, mine);
    this.maxRunningPerConversation = Math.max(this.maxRunningPerConversation, mine);
    try {
      const turn = this.script.shift() ?? this.fallback;
      const partial = await turn(request);
      const cancelled = request.signal?.aborted === true;
      return {
        outcome: cancelled ? 'cancelled' : 'success',
        text: '',
        sessionId: 'session-fake',
        startedSession: false,
        inputTokens: 10,
        outputTokens: 5,
        costUsd: 0.001,
        durationMs: 1,
        ...partial,
      };
    } finally {
      this.running--;
      this.runningByConversation.set(id, (this.runningByConversation.get(id) ?? 1) - 1);
    }
  }

  async resetConversation(conversation: ConversationRef): Promise<void> {
    this.resets.push(conversation);
  }
}

/** A turn that waits until released or aborted. */
export function gatedTurn(text = 'done'): {
  turn: FakeTurn;
  release: () => void;
  started: Promise<void>;
} {
  let release = () => {};
  let markStarted = () => {};
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    release,
    started,
    turn: async (request) => {
      markStarted();
      await Promise.race([
        gate,
        new Promise<void>((resolve) => {
          if (request.signal?.aborted) resolve();
          request.signal?.addEventListener('abort', () => resolve(), { once: true });
        }),
      ]);
      return request.signal?.aborted ? { outcome: 'cancelled', text: '' } : { text };
    },
  };
}
