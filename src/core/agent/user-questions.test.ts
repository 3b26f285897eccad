import { describe, expect, it } from 'vitest';
import { policySchema } from '../../config/agent-config/policy.js';
import { type AgentPolicy, defaultPolicy } from '../../config/agent-config.js';
import type {
  PersonAnswer,
  PersonQuestion,
  TurnInteraction,
} from '../../domain/person-questions.js';
import { texts } from '../../texts/en.js';
import { redactText, shownInput } from './redact-input.js';
import { ToolPolicy } from './tool-policy.js';
import { answerUserQuestions, approveToolCall } from './user-questions.js';

/** An interaction that answers from a script and records what it was asked. */
function scripted(...answers: PersonAnswer[]) {
  const asked: PersonQuestion[] = [];
  const grants = new Set<string>();
  const interaction: TurnInteraction = {
    async ask(question) {
      asked.push(question);
      return answers.shift() ?? { kind: 'unanswered', reason: 'timeout' };
    },
    async isGranted(key) {
      return grants.has(key);
    },
    async grant(key) {
      grants.add(key);
    },
  };
  return { interaction, asked, grants };
}

const scope = { workspace: '/tmp/none', readOnly: [] };

function policy(tools: Record<string, unknown>): ToolPolicy {
  const parsed = policySchema.parse({ tools });
  return new ToolPolicy(
    {
      ...parsed,
      tools: { ...parsed.tools, shell: { ...parsed.tools.shell, sandboxed: true } },
    } as AgentPolicy,
    { lookup: async () => ['93.184.216.34'] },
  );
}

describe('tool policy entries set to "ask"', () => {
  it('asks for shell commands, other hosts and named MCP tools; never for private addresses', async () => {
    const tools = policy({
      shell: { enabled: true, commands: 'ask' },
      web: { allowedDomains: ['example.com'], otherHosts: 'ask' },
      mcp: { mcp__github__create_issue: 'ask', 'mcp__files__*': 'deny' },
    });
    expect(await tools.evaluate('Bash', { command: 'ls -la' }, scope)).toMatchObject({
      allow: false,
      approval: { key: 'Bash:ls -la' },
    });
    expect(await tools.evaluate('WebFetch', { url: 'https://example.com/a' }, scope)).toEqual({
      allow: true,
    });
    expect(await tools.evaluate('WebFetch', { url: 'https://other.org/a' }, scope)).toMatchObject({
      allow: false,
      approval: { key: 'WebFetch:other.org' },
    });
    const local = await tools.evaluate('WebFetch', { url: 'http://127.0.0.1/' }, scope);
    expect(local).toMatchObject({ allow: false });
    expect('approval' in local && local.approval).toBeFalsy();
    expect(await tools.evaluate('mcp__github__create_issue', {}, scope)).toMatchObject({
      allow: false,
      approval: { key: 'mcp__github__create_issue' },
    });
    expect(await tools.evaluate('mcp__github__list_issues', {}, scope)).toEqual({ allow: true });
    expect(await tools.evaluate('mcp__files__read', {}, scope)).toMatchObject({ allow: false });
  });

  it('keeps the default policy as it was: nothing asks', async () => {
    const tools = new ToolPolicy(defaultPolicy(), { lookup: async () => ['93.184.216.34'] });
    expect(await tools.evaluate('mcp__any__tool', {}, scope)).toEqual({ allow: true });
    const fetch = await tools.evaluate('WebFetch', { url: 'https://example.com' }, scope);
    expect(fetch).toEqual({ allow: true });
    expect(tools.builtInTools({ skills: false })).not.toContain('AskUserQuestion');
    expect(tools.builtInTools({ skills: false, askPerson: true })).toContain('AskUserQuestion');
  });

  it('refuses a misspelt entry by path', () => {
    const parsed = policySchema.safeParse({ tools: { mcp: { github: 'ask' } } });
    expect(parsed.success).toBe(false);
    const bad = policySchema.safeParse({ tools: { shell: { commands: 'maybe' } } });
    expect(bad.success).toBe(false);
  });
});

describe('approveToolCall', () => {
  const request = (interaction: TurnInteraction) => ({
    toolName: 'Bash',
    input: { command: 'export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz123456 && deploy' },
    key: 'Bash:deploy',
    interaction,
    secrets: [],
  });

  it('allows once, remembers "always", denies with a reason, and treats silence as no', async () => {
    const once = scripted({ kind: 'chosen', indexes: [0] });
    expect(await approveToolCall(request(once.interaction))).toEqual({ allow: true });
    expect(once.grants.size).toBe(0);
    expect(once.asked[0]?.options).toEqual([
      texts.questions.allowOnce,
      texts.questions.allowAlways,
      texts.questions.deny,
    ]);
    expect(once.asked[0]?.text).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz123456');

    const always = scripted({ kind: 'chosen', indexes: [1] });
    expect(await approveToolCall(request(always.interaction))).toEqual({ allow: true });
    expect(await approveToolCall(request(always.interaction))).toEqual({ allow: true });
    expect(always.asked).toHaveLength(1);

    const denied = scripted({ kind: 'chosen', indexes: [2] });
    expect(await approveToolCall(request(denied.interaction))).toEqual({
      allow: false,
      reason: texts.questions.denied('Bash'),
    });
    const silent = scripted();
    const outcome = await approveToolCall(request(silent.interaction));
    expect(outcome.allow).toBe(false);
    expect(!outcome.allow && outcome.reason).toContain(texts.questions.noAnswer);
  });
});

describe('answerUserQuestions', () => {
  const input = {
    questions: [
      {
        question: 'Size?',
        header: 'Size',
        multiSelect: false,
        options: [{ label: 'S' }, { label: 'L' }],
      },
      {
        question: 'Extras?',
        header: 'Extras',
        multiSelect: true,
        options: [{ label: 'Ice' }, { label: 'Lemon' }],
      },
    ],
  };

  it('asks each question in turn and fills in the answers', async () => {
    const { interaction, asked } = scripted(
      { kind: 'chosen', indexes: [1] },
      { kind: 'chosen', indexes: [0, 1] },
    );
    const result = await answerUserQuestions(input, interaction, undefined);
    expect(result).toEqual({
      behavior: 'allow',
      updatedInput: { ...input, answers: { 'Size?': 'L', 'Extras?': 'Ice, Lemon' } },
    });
    expect(asked.map((question) => question.multiSelect)).toEqual([false, true]);
  });

  it('says what was answered before a question nobody answered', async () => {
    const { interaction } = scripted({ kind: 'text', text: 'medium' });
    const result = await answerUserQuestions(input, interaction, undefined);
    expect(result.behavior).toBe('deny');
    expect(result.behavior === 'deny' && result.message).toContain('"Size?"="medium"');
  });

  it('refuses malformed input without asking', async () => {
    const { interaction, asked } = scripted();
    const result = await answerUserQuestions({ questions: 'what?' }, interaction, undefined);
    expect(result.behavior).toBe('deny');
    expect(asked).toHaveLength(0);
  });
});

describe('redaction of shown input', () => {
  it('hides configured secrets, credential fields, inline keys and assignments, then cuts', () => {
    const shown = shownInput(
      'mcp__x__y',
      {
        query: 'use sk-live-secretvalue-123 and my-configured-secret',
        password: 'p4ss',
        nested: { apiKey: 'abc', note: 'AWS_SECRET_ACCESS_KEY=abcd1234 ok' },
        url: 'https://user:pw@example.com/x',
        long: 'x'.repeat(2_000),
      },
      ['my-configured-secret'],
    );
    for (const secret of ['sk-live-secretvalue-123', 'my-configured-secret', 'p4ss', 'abcd1234']) {
      expect(shown).not.toContain(secret);
    }
    expect(shown).not.toContain('user:pw@');
    expect(shown).toContain('[redacted]');
    expect(shown.length).toBeLessThanOrEqual(700);
    expect(redactText('Authorization: Bearer abcdefghijklmnop', [])).toBe(
      'Authorization: Bearer [redacted]',
    );
  });
});
