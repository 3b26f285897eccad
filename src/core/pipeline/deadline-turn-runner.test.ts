import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { describe, expect, it } from 'vitest';
import { testMessage } from '../../../test/support/inbound-messages.js';
import type { InboundMessage, LaneKind } from '../../domain/inbound-message.js';
import type { TurnInteraction } from '../../domain/person-questions.js';
import type { TurnRequest, TurnResult } from '../../domain/turn.js';
import type { EnqueueResult, JobSink } from '../../ports/job-queue.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { texts } from '../../texts/en.js';
import { continuationMessage, taskOf } from './continuation.js';
import { DeadlineTurnRunner } from './deadline-turn-runner.js';

/** A turn that works until it is aborted, sending `steps` SDK messages at their times (ms). */
class EndlessTurn implements TurnRunner {
  readonly requests: TurnRequest[] = [];
  reason: unknown;

  constructor(private readonly steps: Array<{ atMs: number; message: SDKMessage }> = []) {}

  async runTurn(request: TurnRequest): Promise<TurnResult> {
    this.requests.push(request);
    const timers = this.steps.map(({ atMs, message }) =>
      setTimeout(() => request.onMessage?.(message), atMs),
    );
    await new Promise<void>((resolve) => {
      if (request.signal?.aborted) resolve();
      request.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    for (const timer of timers) clearTimeout(timer);
    this.reason = request.signal?.reason;
    return {
      outcome: 'cancelled',
      text: '',
      sessionId: 'session-1',
      startedSession: false,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      durationMs: 1,
    };
  }

  async resetConversation(): Promise<void> {}
}

class RecordingSink implements JobSink {
  readonly queued: Array<{ message: InboundMessage; kind: LaneKind }> = [];
  failure: Error | undefined;

  async enqueue(message: InboundMessage, kind: LaneKind): Promise<EnqueueResult> {
    if (this.failure) throw this.failure;
    this.queued.push({ message, kind });
    return 'enqueued';
  }
}

const toolResults = {
  type: 'user',
  message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] },
  parent_tool_use_id: null,
  session_id: 'session-1',
} as unknown as SDKMessage;
const subagentResults = { ...toolResults, parent_tool_use_id: 'task-1' } as SDKMessage;

function request(messages: InboundMessage[]): TurnRequest {
  return { conversation: (messages[0] as InboundMessage).conversation, prompt: 'x', messages };
}

describe('DeadlineTurnRunner', () => {
  it('continues a task cut at the deadline: queues a continuation on its lane and says so once', async () => {
    const sink = new RecordingSink();
    const message = testMessage({ chatId: 5, text: 'a long task' });
    const runner = new DeadlineTurnRunner(new EndlessTurn(), Date.now() + 100, {
      continuations: sink,
    });
    const result = await runner.runTurn(request([message]));
    expect(result).toMatchObject({ continued: true, errorMessage: texts.stillWorking });
    expect(sink.queued).toHaveLength(1);
    const [queued] = sink.queued;
    expect(queued?.kind).toBe('turn');
    expect(queued?.message).toMatchObject({
      id: `${message.id}#continue-1`,
      conversation: message.conversation,
      messageId: message.messageId,
      body: { kind: 'text', text: texts.continueInstruction },
      continuation: { of: message.id, n: 1 },
    });
    // The session it continues, so that a /new before it drops it (stale-continuations.ts).
    expect(queued?.message.continuation?.sessionId).toBe('session-1');
  });

  it('says nothing more on later runs, and ends the task with the deadline notice once continuations run out', async () => {
    const sink = new RecordingSink();
    const first = testMessage({ chatId: 6, text: 'a long task' });
    const task = taskOf([first], 1_000) as NonNullable<ReturnType<typeof taskOf>>;
    const once = continuationMessage([first], task, texts.continueInstruction, 2_000);
    const runner = () =>
      new DeadlineTurnRunner(new EndlessTurn(), Date.now() + 100, {
        continuations: sink,
        maxContinuations: 2,
      });

    const second = await runner().runTurn(request([once]));
    expect(second.continued).toBe(true);
    expect(second.errorMessage).toBeUndefined();
    const twice = sink.queued[0]?.message as InboundMessage;
    // The same task, counted on, started when the first run did.
    expect(twice.continuation).toEqual({
      of: first.id,
      n: 2,
      startedAt: 1_000,
      sessionId: 'session-1',
    });

    const last = await runner().runTurn(request([twice]));
    expect(last).toMatchObject({ outcome: 'max_turns', errorMessage: texts.deadlineReached });
    expect(last.continued).toBeUndefined();
    expect(sink.queued).toHaveLength(1);
  });

  it('counts the task by the continuation among messages the person sent meanwhile', async () => {
    const first = testMessage({ chatId: 7, text: 'a long task' });
    const task = taskOf([first], 1_000) as NonNullable<ReturnType<typeof taskOf>>;
    const continuation = continuationMessage([first], task, texts.continueInstruction, 2_000);
    const meanwhile = testMessage({ chatId: 7, text: 'and also this' });
    expect(taskOf([meanwhile, continuation], 3_000)).toEqual({
      of: first.id,
      continuations: 1,
      startedAt: 1_000,
    });
  });

  it('ends the task with the deadline notice when the continuation cannot be queued', async () => {
    const sink = new RecordingSink();
    sink.failure = new Error('queue unavailable');
    const runner = new DeadlineTurnRunner(new EndlessTurn(), Date.now() + 50, {
      continuations: sink,
    });
    const result = await runner.runTurn(request([testMessage()]));
    expect(result).toMatchObject({ outcome: 'max_turns', errorMessage: texts.deadlineReached });
  });

  it('stops near the deadline at the next clean point (a step finished), not before', async () => {
    const inner = new EndlessTurn([
      // Early in the run: a step finishes, and the turn goes on.
      { atMs: 20, message: toolResults },
      // In the last stretch: a subagent's step is no clean point for the main agent...
      { atMs: 1_560, message: subagentResults },
      // ...its own step is.
      { atMs: 1_650, message: toolResults },
    ]);
    const sink = new RecordingSink();
    // Two seconds: the last half second (a quarter of the run) looks for a clean point.
    const runner = new DeadlineTurnRunner(inner, Date.now() + 2_000, {
      continuations: sink,
      cleanPointMs: 60_000,
    });
    const result = await runner.runTurn(request([testMessage()]));
    expect(String((inner.reason as Error).message)).toContain('clean point');
    expect(result.continued).toBe(true);
  });

  it('stops at the deadline itself when no step of its own finishes near it', async () => {
    const inner = new EndlessTurn([{ atMs: 260, message: subagentResults }]);
    const runner = new DeadlineTurnRunner(inner, Date.now() + 300, {
      continuations: new RecordingSink(),
    });
    const result = await runner.runTurn(request([testMessage()]));
    expect(String((inner.reason as Error).message)).toContain('deadline is near');
    expect(result.continued).toBe(true);
  });

  it("hands the inner runner the turn's interaction whole: forgetting grants included", async () => {
    const inner = new EndlessTurn();
    const calls: string[] = [];
    const interaction: TurnInteraction = {
      ask: async () => ({ kind: 'unanswered', reason: 'timeout' }),
      isGranted: async () => false,
      grant: async () => {},
      forgetGrants: async () => {
        calls.push('forgetGrants');
      },
    };
    const stop = new AbortController();
    const runner = new DeadlineTurnRunner(inner, Date.now() + 60_000);
    const running = runner.runTurn({
      ...request([testMessage()]),
      signal: stop.signal,
      interaction,
    });
    stop.abort();
    await running;
    await inner.requests[0]?.interaction?.forgetGrants?.();
    expect(calls).toEqual(['forgetGrants']);
  });

  it('passes a turn that ends by itself, or on /stop, through unchanged', async () => {
    const sink = new RecordingSink();
    const stop = new AbortController();
    const runner = new DeadlineTurnRunner(new EndlessTurn(), Date.now() + 60_000, {
      continuations: sink,
    });
    const running = runner.runTurn({ ...request([testMessage()]), signal: stop.signal });
    stop.abort();
    const result = await running;
    expect(result.outcome).toBe('cancelled');
    expect(result.continued).toBeUndefined();
    expect(sink.queued).toEqual([]);
  });
});
