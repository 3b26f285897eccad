import { readdirSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { conversationId } from '../../src/domain/conversation.js';
import { AgentFixture } from '../support/agent-fixture.js';
import { reply, requestText, systemText } from '../support/scripted-model-server.js';

// The real Claude Code binary against the scripted model server: every turn
// here is a genuine SDK turn, with its own throwaway config directory.

const SUBAGENT_MARKER = 'You are the AWS-SUPPORT test subagent.';

let fixture: AgentFixture;
let chatCounter = 0;
const nextConversation = () => ({
  tenant: 'test',
  channel: 'terminal',
  chatId: `chat-${++chatCounter}`,
});

beforeAll(async () => {
  fixture = await AgentFixture.create({
    'system_prompt.md': 'You are TestBot.',
    'agents.json': JSON.stringify({
      'aws-support': {
        description: 'Answers AWS questions',
        prompt_file: 'agents/aws-support.md',
        tools: ['Read'],
      },
    }),
    'agents/aws-support.md': SUBAGENT_MARKER,
    'policy.json': JSON.stringify({ maxTurns: 3 }),
  });
});

afterAll(async () => {
  await fixture.close();
});

afterEach(() => {
  fixture.model.reset();
});

describe('agent runtime', () => {
  it('answers a turn and records the session, usage and cost in the index', async () => {
    const conversation = nextConversation();
    fixture.model.enqueue(
      reply.text('Hello, Ada!', { usage: { input_tokens: 1200, output_tokens: 30 } }),
    );

    const result = await fixture.newRuntime().runTurn({ conversation, prompt: 'Hi, I am Ada' });

    expect(result).toMatchObject({ outcome: 'success', text: 'Hello, Ada!', startedSession: true });
    expect(result.inputTokens).toBe(1200);
    expect(result.outputTokens).toBe(30);
    expect(result.costUsd).toBeGreaterThan(0);
    const record = await fixture.conversations.get(conversationId(conversation));
    expect(record).toMatchObject({
      sessionId: result.sessionId,
      turns: 1,
      inputTokens: 1200,
      outputTokens: 30,
    });
    expect(record?.costUsd).toBeCloseTo(result.costUsd, 10);
    // The gateway, not the agent, holds the real key: the model server saw it
    // on the request, the agent was only given a per-turn URL.
    expect(fixture.model.messageRequests[0]?.headers['x-api-key']).toBe('sk-test-upstream-key');
  });

  it('resumes on a fresh runtime with the full history, and counts only the new turn', async () => {
    const conversation = nextConversation();
    fixture.model.enqueue(
      reply.text('Noted: your favourite colour is teal.', {
        usage: { input_tokens: 1000, output_tokens: 10 },
      }),
      reply.text('It is teal.', { usage: { input_tokens: 2000, output_tokens: 5 } }),
    );

    const first = await fixture
      .newRuntime()
      .runTurn({ conversation, prompt: 'My favourite colour is teal' });
    const second = await fixture
      .newRuntime()
      .runTurn({ conversation, prompt: 'What is my favourite colour?' });

    expect(second.sessionId).toBe(first.sessionId);
    expect(second.startedSession).toBe(false);
    const request = fixture.model.messageRequests.at(-1);
    expect(request && requestText(request)).toContain('My favourite colour is teal');
    expect(request && requestText(request)).toContain('Noted: your favourite colour is teal.');
    // The SDK's own total carries on across resume; the turn's cost must not.
    const record = await fixture.conversations.get(conversationId(conversation));
    expect(second.costUsd).toBeGreaterThan(0);
    expect(record?.costUsd).toBeCloseTo(first.costUsd + second.costUsd, 10);
    expect(second.costUsd).toBeLessThan(first.costUsd * 3);
    expect(record?.turns).toBe(2);
  });

  it('deletes every per-turn config directory', async () => {
    const conversation = nextConversation();
    fixture.model.enqueue(reply.text('one'), reply.text('two'));
    const runtime = fixture.newRuntime();
    await runtime.runTurn({ conversation, prompt: 'first' });
    await runtime.runTurn({ conversation, prompt: 'second' });
    expect(await readdir(fixture.tempRoot)).toEqual([]);
  });

  it('persists a subagent transcript and restores it for the next turn', async () => {
    const conversation = nextConversation();
    const isSubagent = (request: Parameters<typeof systemText>[0]) =>
      systemText(request).includes(SUBAGENT_MARKER);
    fixture.model.enqueueFor(
      (request) => !isSubagent(request),
      reply.subagent('aws-support', 'What is S3?', 'Ask AWS support'),
      reply.text('AWS support says S3 is object storage.'),
      reply.text('Second turn answer.'),
    );
    fixture.model.enqueueFor(isSubagent, reply.text('S3 is object storage. SUBAGENT-MEMORY-42'));

    const first = await fixture
      .newRuntime()
      .runTurn({ conversation, prompt: 'Ask AWS support about S3' });
    expect(first.outcome).toBe('success');
    expect(fixture.model.messageRequests.some(isSubagent)).toBe(true);
    const record = await fixture.conversations.get(conversationId(conversation));
    const key = { projectKey: String(record?.projectKey), sessionId: String(record?.sessionId) };
    const subkeys = await fixture.sessionStore.listSubkeys(key);
    expect(subkeys).toHaveLength(1);
    const subTranscript = await fixture.sessionStore.load({ ...key, subpath: subkeys[0] });
    expect(JSON.stringify(subTranscript)).toContain('SUBAGENT-MEMORY-42');
    expect(JSON.stringify(await fixture.sessionStore.load(key))).not.toContain('What is S3?"}]');

    // Turn 2 on a fresh runtime: while it runs, the subagent's transcript must
    // have been materialised from the store (the SDK writes it, with the main
    // transcript, into a `claude-resume-*` directory of the OS temp dir).
    let restored = '';
    const second = await fixture.newRuntime().runTurn({
      conversation,
      prompt: 'Thanks',
      onMessage: (message) => {
        if (message.type === 'system' && message.subtype === 'init')
          restored = findSubagentFiles(tmpdir());
      },
    });
    expect(second.outcome).toBe('success');
    expect(second.sessionId).toBe(first.sessionId);
    expect(restored).toContain('SUBAGENT-MEMORY-42');
  });

  it('starts a fresh session once the conversation has expired, and removes the old transcript', async () => {
    const conversation = nextConversation();
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const now = () => clock;
    fixture.model.enqueue(
      reply.text('Remembered: the code word is MANGO.'),
      reply.text('I have no code word.'),
    );

    const first = await fixture.newRuntime({ now, sessionTtlMs: 25 * 86_400_000 }).runTurn({
      conversation,
      prompt: 'The code word is MANGO',
    });
    const before = await fixture.conversations.get(conversationId(conversation));
    const oldKey = { projectKey: String(before?.projectKey), sessionId: String(first.sessionId) };
    expect(await fixture.sessionStore.load(oldKey)).not.toBeNull();

    clock += 26 * 86_400_000;
    const second = await fixture.newRuntime({ now, sessionTtlMs: 25 * 86_400_000 }).runTurn({
      conversation,
      prompt: 'What is the code word?',
    });

    expect(second.startedSession).toBe(true);
    expect(second.sessionId).not.toBe(first.sessionId);
    const request = fixture.model.messageRequests.at(-1);
    expect(request && requestText(request)).not.toContain('MANGO');
    expect(await fixture.sessionStore.load(oldKey)).toBeNull();
  });

  it('stops a turn when its signal is aborted, keeping the session', async () => {
    const conversation = nextConversation();
    fixture.model.enqueue(reply.text('This answer never arrives.', { delayMs: 30_000 }));
    const abort = new AbortController();
    const turn = fixture.newRuntime().runTurn({
      conversation,
      prompt: 'Take your time',
      signal: abort.signal,
      onMessage: (message) => {
        if (message.type === 'system' && message.subtype === 'init')
          setTimeout(() => abort.abort(), 200);
      },
    });
    const result = await turn;
    expect(result.outcome).toBe('cancelled');
    expect(result.text).toBe('');
    expect(result.errorMessage).toBeTruthy();
  });

  it('reports a model API error as a failed turn, not as an answer', async () => {
    const conversation = nextConversation();
    // Every request fails; Claude Code gives up after a few quick retries and
    // reports `success` with `is_error` and the API error as its text.
    fixture.model.setFallback({ content: [], errorStatus: 400 });

    const result = await fixture.newRuntime().runTurn({ conversation, prompt: 'Hello?' });

    expect(result.outcome).toBe('error');
    expect(result.text).toBe('');
    expect(result.errorMessage).toMatch(/something went wrong/);
  });

  it('ends a turn that exceeds the max-turns limit with a clear message', async () => {
    const conversation = nextConversation();
    // policy.json allows 3 agent turns; the model keeps calling tools.
    const readForever = () => reply.toolUse('Read', { file_path: 'notes.txt' });
    fixture.model.enqueue(readForever, readForever, readForever, readForever, readForever);

    const result = await fixture.newRuntime().runTurn({ conversation, prompt: 'Loop' });

    expect(result.outcome).toBe('max_turns');
    expect(result.errorMessage).toMatch(/more steps than I am allowed/);
  });
});

/**
 * Concatenated contents of every materialised subagent transcript under `root`.
 * Synchronous on purpose: it runs inside the message callback, while the turn is live.
 */
function findSubagentFiles(root: string): string {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (dir === root && !entry.name.startsWith('claude-resume-')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (full.includes(`${path.sep}subagents${path.sep}`) && entry.name.endsWith('.jsonl')) {
        found.push(readFileSync(full, 'utf8'));
      }
    }
  };
  walk(root);
  return found.join('\n');
}
