import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  failedTurnRequestBound,
  type ModelFailureSettings,
} from '../../src/core/agent/model-failure.js';
import { conversationId } from '../../src/domain/conversation.js';
import { texts } from '../../src/texts/en.js';
import { AgentFixture } from '../support/agent-fixture.js';
import { testMessage } from '../support/inbound-messages.js';
import { reply } from '../support/scripted-model-server.js';

// A model that goes silent or keeps failing ends a turn within bounds the
// settings set, with one message saying so, instead of minutes of waiting
// and dozens of upstream requests. Small bounds here; no timing assertions.

const SETTINGS: Partial<ModelFailureSettings> = {
  firstByteTimeoutMs: 400,
  idleTimeoutMs: 400,
  maxRetries: 1,
};

let fixture: AgentFixture;
let chatCounter = 0;
const nextConversation = () => ({
  tenant: 'test',
  channel: 'terminal',
  chatId: `model-failure-${++chatCounter}`,
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

const bound = failedTurnRequestBound(SETTINGS);

describe('a model that fails', () => {
  it('never answering: the turn ends as model-unavailable, with a bounded number of requests', async () => {
    fixture.model.setFallback(reply.hang('before-headers'));
    const result = await fixture
      .newRuntime({ modelFailure: SETTINGS })
      .runTurn({ conversation: nextConversation(), prompt: 'Hello?' });

    expect(result.outcome).toBe('model_unavailable');
    expect(result.errorMessage).toBe(texts.modelUnavailable);
    expect(fixture.model.messageRequests.length).toBeGreaterThan(0);
    expect(fixture.model.messageRequests.length).toBeLessThanOrEqual(bound);
  }, 60_000);

  it('going silent mid-answer: the turn ends as model-unavailable', async () => {
    fixture.model.setFallback(reply.hang('mid-stream'));
    const result = await fixture
      .newRuntime({ modelFailure: SETTINGS })
      .runTurn({ conversation: nextConversation(), prompt: 'Hello?' });

    expect(result.outcome).toBe('model_unavailable');
    expect(result.errorMessage).toBe(texts.modelUnavailable);
    expect(fixture.model.messageRequests.length).toBeLessThanOrEqual(bound);
  }, 60_000);

  it('always failing (500, or overloaded mid-stream): bounded requests, model-unavailable', async () => {
    for (const failure of [reply.error(500), reply.failMidStream()]) {
      fixture.model.reset();
      fixture.model.setFallback(failure);
      const result = await fixture
        .newRuntime({ modelFailure: SETTINGS })
        .runTurn({ conversation: nextConversation(), prompt: 'Hello?' });

      expect(result.outcome).toBe('model_unavailable');
      expect(fixture.model.messageRequests.length).toBeGreaterThan(0);
      expect(fixture.model.messageRequests.length).toBeLessThanOrEqual(bound);
    }
  }, 60_000);

  it('the person gets one message saying so, on the first attempt, and the batch is settled', async () => {
    fixture.model.setFallback(reply.hang('before-headers'));
    const { worker, channel } = fixture.newWorker({ modelFailure: SETTINGS });
    const message = testMessage({ chatId: `worker-${++chatCounter}`, text: 'Are you there?' });

    const outcome = await worker.handle({ kind: 'turn', messages: [message], attempt: 1 });

    expect(outcome).toMatchObject({ type: 'settled', completed: [message.id] });
    expect(channel.sent.map((part) => part.text)).toEqual([texts.modelUnavailable]);
    expect(fixture.model.messageRequests.length).toBeLessThanOrEqual(bound);
  }, 60_000);

  it('a turn that runs past its time limit is stopped, kept, and says so', async () => {
    fixture.model.setFallback(reply.text('Too late.', { delayMs: 30_000 }));
    const conversation = nextConversation();
    const result = await fixture
      .newRuntime({
        modelFailure: {
          ...SETTINGS,
          idleTimeoutMs: 60_000,
          firstByteTimeoutMs: 60_000,
          turnTimeLimitMs: 1_500,
        },
      })
      .runTurn({ conversation, prompt: 'Take your time' });

    expect(result.outcome).toBe('max_turns');
    expect(result.errorMessage).toBe(texts.turnTimeLimit);
    expect((await fixture.conversations.get(conversationId(conversation)))?.turns).toBe(1);
  }, 60_000);
});
