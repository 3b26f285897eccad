import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { conversationId } from '../../src/domain/conversation.js';
import { AgentFixture } from '../support/agent-fixture.js';
import { reply, type ScriptedReply } from '../support/scripted-model-server.js';

// Spending limits from policy.json, on the real Claude Code binary. The cost
// is the SDK's estimate from the token counts the scripted model reports; a
// reply with 50k input tokens costs between a tenth and three tenths of a
// dollar at current prices, so these limits are crossed within a step or two. (The max-turns
// limit is proven in agent-runtime.e2e.test.ts.)

const DAY = 86_400_000;
const BIG = { usage: { input_tokens: 50_000, output_tokens: 10 } };

let fixture: AgentFixture;
let chat = 0;
const nextConversation = () => ({
  tenant: 'test',
  channel: 'terminal',
  chatId: `limits-${++chat}`,
});

/** A model that keeps reading a file, expensively, until something stops it. */
const expensiveStep = (): ScriptedReply => ({
  ...reply.toolUse('Read', { file_path: 'notes.txt' }),
  ...BIG,
});

beforeAll(async () => {
  fixture = await AgentFixture.create({
    'system_prompt.md': 'You are TestBot.',
    'policy.json': JSON.stringify({
      maxBudgetUsdPerTurn: 0.3,
      maxBudgetUsdPerConversationPerDay: 0.45,
    }),
  });
});

afterAll(async () => {
  await fixture.close();
});

afterEach(() => {
  fixture.model.reset();
});

describe('budgets', () => {
  it('ends a turn that spends more than the per-turn budget, with a clear message', async () => {
    fixture.model.enqueue(expensiveStep, expensiveStep, expensiveStep, reply.text('never'));

    const result = await fixture
      .newRuntime()
      .runTurn({ conversation: nextConversation(), prompt: 'Keep reading' });

    expect(result.outcome).toBe('budget_exceeded');
    expect(result.errorMessage).toMatch(/spending limit for one turn/);
    expect(result.costUsd).toBeGreaterThan(0.3);
    expect(fixture.model.pending).toBeGreaterThan(0);
  });

  it('stops a conversation at its daily budget until the next UTC day', async () => {
    const conversation = nextConversation();
    let clock = Date.parse('2026-03-01T09:00:00Z');
    const runtime = () => fixture.newRuntime({ now: () => clock });

    // Within both budgets.
    fixture.model.enqueue(reply.text('First answer.', BIG));
    const first = await runtime().runTurn({ conversation, prompt: 'One' });
    expect(first.outcome).toBe('success');
    expect(first.costUsd).toBeGreaterThan(0.1);
    expect(first.costUsd).toBeLessThan(0.3);

    // What is left of the day is less than a turn's budget, and runs out mid-turn.
    clock += 60_000;
    fixture.model.enqueue(expensiveStep, expensiveStep, expensiveStep, reply.text('never'));
    const second = await runtime().runTurn({ conversation, prompt: 'Two' });
    expect(second.outcome).toBe('budget_exceeded');
    expect(second.errorMessage).toMatch(/spending limit for today/);
    const record = await fixture.conversations.get(conversationId(conversation));
    expect(record?.costDayUsd).toBeGreaterThanOrEqual(0.45);

    // The day's budget is spent: the next turn does not start, and no model is asked.
    fixture.model.reset();
    clock += 60_000;
    const third = await runtime().runTurn({ conversation, prompt: 'Three' });
    expect(third).toMatchObject({ outcome: 'budget_exceeded', costUsd: 0 });
    expect(third.errorMessage).toMatch(/spending limit for today\. It resets at midnight UTC/);
    expect(fixture.model.requests).toEqual([]);

    // A new session does not get round it; a new day does.
    await fixture.newRuntime().resetConversation(conversation);
    expect((await runtime().runTurn({ conversation, prompt: 'Four' })).outcome).toBe(
      'budget_exceeded',
    );
    clock += DAY;
    fixture.model.enqueue(reply.text('A new day.'));
    const fifth = await runtime().runTurn({ conversation, prompt: 'Five' });
    expect(fifth).toMatchObject({ outcome: 'success', text: 'A new day.' });
  });
});
