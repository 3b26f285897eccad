import { beforeEach, describe, expect, it } from 'vitest';
import { FakeChannel } from '../../../test/support/fake-channel.js';
import { FakeTurnRunner } from '../../../test/support/fake-turn-runner.js';
import { command, testMessage } from '../../../test/support/inbound-messages.js';
import { fixedConversationIndex, MemoryReplyOutbox } from '../../../test/support/memory-stores.js';
import { InMemoryTurnControl } from '../../adapters/memory/in-memory-turn-control.js';
import { conversationId } from '../../domain/conversation.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import type { ConversationRecord } from '../../ports/conversation-index.js';
import { texts } from '../../texts/en.js';
import { continuationMessage, taskOf } from './continuation.js';
import { ConversationWorker } from './conversation-worker.js';
import { StaleContinuations } from './stale-continuations.js';

const clock = 10_000_000;
const request = testMessage({ id: 'task', chatId: 7, text: 'a long task' });
const id = conversationId(request.conversation);

function record(sessionId: string | null, expiresAt = clock + 60_000): ConversationRecord {
  return {
    conversationId: id,
    sessionId,
    projectKey: sessionId ? 'project' : null,
    lastGoodEntry: null,
    createdAt: 0,
    updatedAt: clock - 1_000,
    expiresAt,
    turns: 1,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    sessionCostUsd: 0,
    costDay: null,
    costDayUsd: 0,
    version: 3,
  };
}

/** The continuation the run answering `request` queued when it was cut, in `sessionId`. */
function continuationOf(sessionId?: string): InboundMessage {
  const task = taskOf([request], clock - 900_000);
  if (!task) throw new Error('no task');
  return continuationMessage([request], task, texts.continueInstruction, clock - 1, sessionId);
}

/** What the person sent after the continuation was queued. */
function later(text: string): InboundMessage {
  return testMessage({ chatId: 7, text });
}

describe('StaleContinuations', () => {
  let runner: FakeTurnRunner;
  let channel: FakeChannel;

  beforeEach(() => {
    runner = new FakeTurnRunner();
    channel = new FakeChannel(4096);
  });

  /** The worker as the AWS worker runs it, over a conversation in the state `current`. */
  function worker(current: ConversationRecord | null) {
    const conversations = fixedConversationIndex(current ? { [id]: current } : {});
    const inner = new ConversationWorker({
      runner,
      channel,
      outbox: new MemoryReplyOutbox(),
      turns: new InMemoryTurnControl(() => clock),
      conversations,
      maxAttempts: 3,
      progress: false,
      drafts: false,
      now: () => clock,
    });
    return new StaleContinuations(inner, { conversations, now: () => clock });
  }

  it('runs a continuation of the conversation’s current session', async () => {
    const continuation = continuationOf('session-1');
    const result = await worker(record('session-1')).handle({
      kind: 'turn',
      messages: [continuation],
      attempt: 1,
    });
    expect(runner.prompts).toEqual([texts.continueInstruction]);
    expect(result).toMatchObject({ type: 'settled', completed: [continuation.id] });
  });

  it.each([
    ['a /new reset the session', record(null)],
    ['a turn after /new started another session', record('session-2')],
    ['the session expired', record('session-1', clock)],
    ['the conversation was deleted', null],
  ])('drops a continuation quietly when %s: no turn, no answer, completed', async (_, current) => {
    const continuation = continuationOf('session-1');
    const result = await worker(current).handle({
      kind: 'turn',
      messages: [continuation],
      attempt: 1,
    });
    expect(runner.requests).toHaveLength(0);
    expect(channel.texts()).toEqual([]);
    expect(channel.typing).toBe(0);
    expect(result).toEqual({
      type: 'settled',
      completed: [continuation.id],
      deadLettered: [],
      released: [],
      outboxKey: continuation.id,
    });
  });

  it('answers what the person sent after /new and drops the stale continuation among it', async () => {
    const continuation = continuationOf('session-1');
    const hello = later('hello again');
    const result = await worker(record('session-2')).handle({
      kind: 'turn',
      messages: [continuation, hello],
      attempt: 1,
    });
    expect(runner.prompts).toEqual(['hello again']);
    // A new task: the dropped continuation's count does not carry over.
    expect(runner.requests[0]?.messages).toEqual([hello]);
    expect(channel.texts().join('')).toBe('echo: hello again');
    expect(result).toEqual({
      type: 'settled',
      completed: [continuation.id, hello.id],
      deadLettered: [],
      released: [],
      outboxKey: hello.id,
    });
  });

  it('passes a retry of the remaining batch through unchanged', async () => {
    runner.next(() => ({ outcome: 'error', text: '' }));
    const continuation = continuationOf('session-1');
    const hello = later('hello');
    const result = await worker(record(null)).handle({
      kind: 'turn',
      messages: [continuation, hello],
      attempt: 1,
    });
    expect(result).toMatchObject({ type: 'retry' });
  });

  it('runs a continuation that names no session (queued before continuations named one)', async () => {
    const continuation = continuationOf();
    expect(continuation.continuation?.sessionId).toBeUndefined();
    await worker(record(null)).handle({ kind: 'turn', messages: [continuation], attempt: 1 });
    expect(runner.prompts).toEqual([texts.continueInstruction]);
  });

  it('leaves /new and the control lane alone', async () => {
    const handler = worker(record(null));
    const reset = testMessage({ chatId: 7, body: command('new') });
    const status = testMessage({ chatId: 7, body: command('help') });
    await handler.handle({ kind: 'turn', messages: [reset], attempt: 1 });
    await handler.handle({ kind: 'control', messages: [status], attempt: 1 });
    expect(runner.resets).toHaveLength(1);
    expect(channel.texts()).toEqual([texts.newSession, texts.help]);
  });
});
