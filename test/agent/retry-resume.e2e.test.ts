import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { conversationId } from '../../src/domain/conversation.js';
import { TurnAbandoned } from '../../src/domain/turn.js';
import type { ConversationIndex } from '../../src/ports/conversation-index.js';
import { AgentFixture } from '../support/agent-fixture.js';
import {
  type RecordedRequest,
  reply,
  requestText,
  type ScriptedReply,
} from '../support/scripted-model-server.js';

// Invariant 6: a retry continues from the state before the failed attempt, so
// the model sees each message once. The real Claude Code binary, a scripted
// model that fails mid-turn, and the runtime run again as the queue would.

let fixture: AgentFixture;
let chatCounter = 0;
const nextConversation = () => ({
  tenant: 'test',
  channel: 'terminal',
  chatId: `retry-${++chatCounter}`,
});

beforeAll(async () => {
  fixture = await AgentFixture.create();
});

afterAll(async () => {
  await fixture.close();
});

afterEach(() => {
  fixture.model.reset();
});

/** How many times `needle` occurs in what the model was sent. */
function occurrences(request: RecordedRequest | undefined, needle: string): number {
  if (!request) return 0;
  return requestText(request).split(needle).length - 1;
}

/**
 * A tool call, then failures the SDK does not retry: the attempt fails after
 * writing the transcript. `recover()` makes the model answer again.
 */
function failMidTurn(failure: ScriptedReply = reply.error(400)): { recover(): void } {
  fixture.model.enqueue(reply.toolUse('Glob', { pattern: '*' }));
  fixture.model.setFallback(failure);
  return { recover: () => fixture.model.setFallback(reply.text('(nothing queued)')) };
}

describe('a retried turn', () => {
  it('sends the message once after a shutdown abandoned the turn (it runs again after the restart)', async () => {
    const conversation = nextConversation();
    fixture.model.enqueue(reply.text('Hello.'));
    await fixture.newRuntime().runTurn({ conversation, prompt: 'BEFORE-SHUTDOWN' });

    // The model is slow; the service shuts down mid-turn, the message goes back to the queue.
    fixture.model.enqueue(reply.text('never seen', { delayMs: 20_000 }));
    const shutdown = new AbortController();
    const running = fixture
      .newRuntime()
      .runTurn({ conversation, prompt: 'DURING-SHUTDOWN', signal: shutdown.signal });
    while (occurrences(fixture.model.messageRequests.at(-1), 'DURING-SHUTDOWN') === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    shutdown.abort(new TurnAbandoned('shutting down'));
    expect((await running).outcome).toBe('cancelled');

    fixture.model.enqueue(reply.text('Now answered.'));
    const rerun = await fixture.newRuntime().runTurn({ conversation, prompt: 'DURING-SHUTDOWN' });
    expect(rerun).toMatchObject({ outcome: 'success', text: 'Now answered.' });
    expect(occurrences(fixture.model.messageRequests.at(-1), 'DURING-SHUTDOWN')).toBe(1);
    expect(occurrences(fixture.model.messageRequests.at(-1), 'BEFORE-SHUTDOWN')).toBe(1);
  });

  it('sends the person’s message once after a model error mid-turn, and once in later turns', async () => {
    const conversation = nextConversation();
    fixture.model.enqueue(reply.text('Hello.'));
    await fixture.newRuntime().runTurn({ conversation, prompt: 'FIRST-MESSAGE' });

    const model = failMidTurn();
    const failed = await fixture.newRuntime().runTurn({ conversation, prompt: 'SECOND-MESSAGE' });
    expect(failed.outcome).toBe('error');
    // The failed attempt got as far as the model (with the message) and a tool.
    expect(occurrences(fixture.model.messageRequests.at(-1), 'SECOND-MESSAGE')).toBe(1);
    expect(JSON.stringify(fixture.model.messageRequests.at(-1)?.body.messages)).toContain(
      'tool_result',
    );
    model.recover();

    fixture.model.enqueue(reply.text('Answer to the second.'));
    const retried = await fixture.newRuntime().runTurn({ conversation, prompt: 'SECOND-MESSAGE' });
    expect(retried).toMatchObject({ outcome: 'success', text: 'Answer to the second.' });
    const retryRequest = fixture.model.messageRequests.at(-1);
    expect(occurrences(retryRequest, 'SECOND-MESSAGE')).toBe(1);
    expect(occurrences(retryRequest, 'FIRST-MESSAGE')).toBe(1);
    expect(occurrences(retryRequest, 'Hello.')).toBe(1);

    fixture.model.enqueue(reply.text('Third.'));
    const third = await fixture.newRuntime().runTurn({ conversation, prompt: 'THIRD-MESSAGE' });
    expect(third.outcome).toBe('success');
    const thirdRequest = fixture.model.messageRequests.at(-1);
    expect(occurrences(thirdRequest, 'SECOND-MESSAGE')).toBe(1);
    expect(occurrences(thirdRequest, 'Answer to the second.')).toBe(1);
    expect(occurrences(thirdRequest, 'FIRST-MESSAGE')).toBe(1);
    expect(occurrences(thirdRequest, 'THIRD-MESSAGE')).toBe(1);
    expect(third.sessionId).toBe(retried.sessionId);
  });

  for (const [name, failure] of [
    ['answering 500', reply.error(500)],
    ['breaking off mid-stream', reply.failMidStream()],
  ] as const) {
    it(`sends the message once when it comes again after the model kept ${name}`, async () => {
      const conversation = nextConversation();
      fixture.model.enqueue(reply.text('Hello.'));
      await fixture.newRuntime().runTurn({ conversation, prompt: 'FIRST-MESSAGE' });

      const model = failMidTurn(failure);
      const failed = await fixture
        .newRuntime({ modelFailure: { maxRetries: 0, noticeWithinMs: 10_000 } })
        .runTurn({ conversation, prompt: 'AGAIN-MESSAGE' });
      expect(failed.outcome).toBe('model_unavailable');
      model.recover();

      fixture.model.enqueue(reply.text('Now it works.'), reply.text('Next.'));
      const again = await fixture.newRuntime().runTurn({ conversation, prompt: 'AGAIN-MESSAGE' });
      expect(again.outcome).toBe('success');
      expect(occurrences(fixture.model.messageRequests.at(-1), 'AGAIN-MESSAGE')).toBe(1);

      await fixture.newRuntime().runTurn({ conversation, prompt: 'LATER-MESSAGE' });
      const later = fixture.model.messageRequests.at(-1);
      expect(occurrences(later, 'AGAIN-MESSAGE')).toBe(1);
      expect(occurrences(later, 'Now it works.')).toBe(1);
      expect(occurrences(later, 'FIRST-MESSAGE')).toBe(1);
    });
  }

  it('sends the message once when the first turn of a conversation failed', async () => {
    const conversation = nextConversation();
    const model = failMidTurn();
    const failed = await fixture.newRuntime().runTurn({ conversation, prompt: 'OPENING' });
    expect(failed.outcome).toBe('error');
    model.recover();

    fixture.model.enqueue(reply.text('Welcome.'), reply.text('Again.'));
    const retried = await fixture.newRuntime().runTurn({ conversation, prompt: 'OPENING' });
    expect(retried.outcome).toBe('success');
    expect(occurrences(fixture.model.messageRequests.at(-1), 'OPENING')).toBe(1);

    await fixture.newRuntime().runTurn({ conversation, prompt: 'NEXT' });
    const next = fixture.model.messageRequests.at(-1);
    expect(occurrences(next, 'OPENING')).toBe(1);
    expect(occurrences(next, 'Welcome.')).toBe(1);
  });

  it('sends the message once after a crash between the transcript and the index write', async () => {
    const conversation = nextConversation();
    fixture.model.enqueue(reply.text('Hi there.'));
    await fixture.newRuntime().runTurn({ conversation, prompt: 'BEFORE-CRASH' });

    // The attempt completes against the model, but the process "dies" before
    // the conversation index records it: the queue runs the batch again.
    const index = fixture.conversations;
    const crashing: ConversationIndex = {
      get: (id) => index.get(id),
      recordTurn: () => Promise.reject(new Error('process killed')),
      resetSession: (id) => index.resetSession(id),
      listExpired: (now, limit) => index.listExpired(now, limit),
      delete: (id) => index.delete(id),
    };
    fixture.model.enqueue(reply.text('Lost answer.'));
    await expect(
      fixture
        .newRuntime({ conversations: crashing })
        .runTurn({ conversation, prompt: 'CRASHED-MESSAGE' }),
    ).rejects.toThrow(/process killed/);

    fixture.model.enqueue(reply.text('Delivered answer.'));
    const retried = await fixture.newRuntime().runTurn({ conversation, prompt: 'CRASHED-MESSAGE' });
    expect(retried.outcome).toBe('success');
    const request = fixture.model.messageRequests.at(-1);
    expect(occurrences(request, 'CRASHED-MESSAGE')).toBe(1);
    expect(occurrences(request, 'Lost answer.')).toBe(0);
    expect(occurrences(request, 'BEFORE-CRASH')).toBe(1);
    const record = await fixture.conversations.get(conversationId(conversation));
    expect(record?.turns).toBe(2);
  });
});
