import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { InMemoryQuestionStore } from '../../src/adapters/memory/in-memory-question-store.js';
import { loadAgentConfig } from '../../src/config/agent-config.js';
import { TurnQuestions } from '../../src/core/pipeline/turn-questions.js';
import { type ConversationRef, conversationId } from '../../src/domain/conversation.js';
import type { ButtonAction } from '../../src/domain/person-questions.js';
import type { Channel, QuestionChannel, QuestionMessage } from '../../src/ports/channel.js';
import { texts } from '../../src/texts/en.js';
import { AgentFixture } from '../support/agent-fixture.js';
import { HTTP_MARKER, HTTP_TOOL, HttpTestMcpServer } from '../support/mcp/mcp-test-servers.js';
import { askingAgentFiles, choiceQuestion } from '../support/question-fixtures.js';
import { reply, toolResultsById } from '../support/scripted-model-server.js';

// The agent's AskUserQuestion and tools set to `ask`, on the real Claude Code
// binary: the question reaches the chat (a recording channel), the person
// answers through the question store as the ingress would, and the model
// receives the answer as the tool's result.

const COLOUR_QUESTION = choiceQuestion('Which colour should the logo be?', 'Colour', {
  Red: 'Warm and loud',
  Blue: 'Calm',
});

/** A channel that only shows questions, recording what the person sees. */
class QuestionRecorder implements QuestionChannel {
  readonly shown: Array<{ messageId: string; question: QuestionMessage }> = [];
  readonly closed = new Map<string, string>();
  private next = 1;
  private listeners: Array<() => void> = [];

  async sendQuestion(_conversation: ConversationRef, question: QuestionMessage): Promise<string> {
    const messageId = String(this.next++);
    this.shown.push({ messageId, question });
    for (const listener of this.listeners.splice(0)) listener();
    return messageId;
  }

  async editQuestion(): Promise<void> {}

  async closeQuestion(_conversation: ConversationRef, messageId: string, text: string) {
    this.closed.set(messageId, text);
  }

  /** The `count`-th question shown (1-based), once it is. */
  async question(count: number): Promise<{ messageId: string; question: QuestionMessage }> {
    while (this.shown.length < count) {
      await new Promise<void>((resolve) => this.listeners.push(resolve));
    }
    return this.shown[count - 1] as { messageId: string; question: QuestionMessage };
  }
}

let fixture: AgentFixture;
let http: HttpTestMcpServer;
let chat = 0;

function setup(timeoutMs = 60_000) {
  const conversation: ConversationRef = {
    tenant: 'test',
    channel: 'telegram',
    chatId: `questions-${++chat}`,
  };
  const store = new InMemoryQuestionStore();
  const channel = new QuestionRecorder();
  const interaction = new TurnQuestions({
    channel: channel as unknown as Channel & QuestionChannel,
    store,
    conversation,
    timeoutMs,
  });
  const id = conversationId(conversation);
  /** The person presses the button labelled `label` on the `count`-th question. */
  const press = async (count: number, label: string) => {
    const { question } = await channel.question(count);
    const button = question.buttons.flat().find((candidate) => candidate.label === label);
    if (!button) throw new Error(`no button ${label}`);
    return store.press(id, question.questionId, button.action, `press-${Math.random()}`);
  };
  const act = async (count: number, action: ButtonAction) => {
    const { question } = await channel.question(count);
    return store.press(id, question.questionId, action, `press-${Math.random()}`);
  };
  return { conversation, store, channel, interaction, press, act, id };
}

beforeAll(async () => {
  http = await new HttpTestMcpServer().start();
  fixture = await AgentFixture.create({
    'system_prompt.md': 'You are TestBot.',
    ...askingAgentFiles(http.url),
  });
});

afterAll(async () => {
  await fixture?.close();
  await http?.stop();
});

afterEach(() => {
  fixture.model.reset();
});

const lastResults = () => toolResultsById(fixture.model.messageRequests.at(-1));

describe('AskUserQuestion', () => {
  it('shows the options as buttons and gives the model the option the person pressed', async () => {
    const { conversation, channel, interaction, press } = setup();
    fixture.model.enqueue(
      reply.toolCalls([['toolu_ask', 'AskUserQuestion', { questions: [COLOUR_QUESTION] }]]),
      reply.text('Blue it is.'),
    );
    const runtime = fixture.newRuntime();
    const turn = runtime.runTurn({ conversation, prompt: 'Design a logo', interaction });
    expect(await press(1, 'Blue')).toBe('chosen');
    const result = await turn;

    expect(result).toMatchObject({ outcome: 'success', text: 'Blue it is.' });
    const { question } = channel.shown[0] ?? { question: undefined };
    expect(question?.text).toContain('Colour: Which colour should the logo be?');
    expect(question?.text).toContain('Red: Warm and loud');
    expect(question?.buttons.flat().map((button) => button.label)).toEqual(['Red', 'Blue']);
    const answered = lastResults().get('toolu_ask');
    expect(answered?.isError).toBe(false);
    expect(answered?.text).toContain('"Which colour should the logo be?"="Blue"');
    expect(channel.closed.get('1')).toContain('→ Blue');
    // The tool is offered only where someone can answer.
    expect(fixture.model.messageRequests[0]?.body.tools?.map((tool) => tool.name)).toContain(
      'AskUserQuestion',
    );
  });

  it('takes several options of a multi-select question, then Done', async () => {
    const { conversation, interaction, press, act } = setup();
    fixture.model.enqueue(
      reply.toolCalls([
        [
          'toolu_multi',
          'AskUserQuestion',
          {
            questions: [
              choiceQuestion(
                'Which toppings?',
                'Toppings',
                { Cheese: '', Olives: '', Basil: '' },
                { multiSelect: true },
              ),
            ],
          },
        ],
      ]),
      reply.text('Noted.'),
    );
    const turn = fixture.newRuntime().runTurn({ conversation, prompt: 'Pizza', interaction });
    expect(await press(1, 'Cheese')).toBe('selected');
    expect(await press(1, 'Basil')).toBe('selected');
    expect(await press(1, 'Olives')).toBe('selected');
    expect(await press(1, 'Olives')).toBe('unselected');
    expect(await act(1, { type: 'done' })).toBe('done');
    expect((await turn).outcome).toBe('success');
    expect(lastResults().get('toolu_multi')?.text).toContain('"Which toppings?"="Cheese, Basil"');
  });

  it('takes a typed answer instead of a button', async () => {
    const { conversation, channel, interaction, store, id } = setup();
    fixture.model.enqueue(
      reply.toolCalls([['toolu_text', 'AskUserQuestion', { questions: [COLOUR_QUESTION] }]]),
      reply.text('Green, then.'),
    );
    const turn = fixture.newRuntime().runTurn({ conversation, prompt: 'Logo', interaction });
    await channel.question(1);
    expect(await store.answerText(id, 'Green, like grass', 'message-1')).toBe(true);
    expect((await turn).outcome).toBe('success');
    expect(lastResults().get('toolu_text')?.text).toContain(
      '"Which colour should the logo be?"="Green, like grass"',
    );
  });

  it('ends the wait with a clear "no answer" when nobody answers in time', async () => {
    const { conversation, channel, interaction } = setup(400);
    fixture.model.enqueue(
      reply.toolCalls([['toolu_late', 'AskUserQuestion', { questions: [COLOUR_QUESTION] }]]),
      reply.text('I picked blue myself.'),
    );
    const result = await fixture
      .newRuntime()
      .runTurn({ conversation, prompt: 'Logo', interaction });
    expect(result.outcome).toBe('success');
    const late = lastResults().get('toolu_late');
    expect(late?.isError).toBe(true);
    expect(late?.text).toContain(texts.questions.noAnswer);
    expect(channel.closed.get('1')).toContain('(No answer.)');
  });
});

describe('tools set to "ask"', () => {
  const lookup = (id: string, key: string) =>
    reply.toolCalls([[id, `mcp__dir__${HTTP_TOOL}`, { key }]]);

  it('runs the call once allowed, refuses it with the reason when denied', async () => {
    const { conversation, channel, interaction, press } = setup();
    const callsBefore = http.calls.length;
    fixture.model.enqueue(lookup('toolu_allowed', 'alpha'), reply.text('Looked it up.'));
    const turn = fixture
      .newRuntime()
      .runTurn({ conversation, prompt: 'Look up alpha', interaction });
    expect(await press(1, texts.questions.allowOnce)).toBe('chosen');
    expect((await turn).outcome).toBe('success');
    expect(channel.shown[0]?.question.text).toContain(`mcp__dir__${HTTP_TOOL}`);
    expect(channel.shown[0]?.question.text).toContain('"key": "alpha"');
    expect(lastResults().get('toolu_allowed')?.text).toContain(`${HTTP_MARKER}: value of alpha`);
    expect(http.calls.slice(callsBefore)).toEqual([{ key: 'alpha' }]);

    fixture.model.enqueue(lookup('toolu_denied', 'beta'), reply.text('I may not.'));
    const denied = fixture
      .newRuntime()
      .runTurn({ conversation, prompt: 'Look up beta', interaction });
    expect(await press(2, texts.questions.deny)).toBe('chosen');
    expect((await denied).outcome).toBe('success');
    const refusal = lastResults().get('toolu_denied');
    expect(refusal?.isError).toBe(true);
    expect(refusal?.text).toContain(texts.questions.denied(`mcp__dir__${HTTP_TOOL}`));
    expect(http.calls.slice(callsBefore)).toEqual([{ key: 'alpha' }]);
  });

  it('stops asking in the conversation after "Always", until the grants are cleared', async () => {
    const { conversation, channel, interaction, press, store, id } = setup();
    fixture.model.enqueue(lookup('toolu_first', 'one'), reply.text('One.'));
    const first = fixture.newRuntime().runTurn({ conversation, prompt: 'one', interaction });
    expect(await press(1, texts.questions.allowAlways)).toBe('chosen');
    expect((await first).outcome).toBe('success');

    fixture.model.enqueue(lookup('toolu_second', 'two'), reply.text('Two.'));
    const second = await fixture.newRuntime().runTurn({ conversation, prompt: 'two', interaction });
    expect(second.outcome).toBe('success');
    expect(channel.shown).toHaveLength(1);
    expect(lastResults().get('toolu_second')?.text).toContain(`${HTTP_MARKER}: value of two`);

    // Another conversation is asked.
    const other = setup(400);
    fixture.model.enqueue(lookup('toolu_other', 'three'), reply.text('Unanswered.'));
    await fixture.newRuntime().runTurn({
      conversation: other.conversation,
      prompt: 'three',
      interaction: other.interaction,
    });
    expect(other.channel.shown).toHaveLength(1);
    expect(lastResults().get('toolu_other')?.isError).toBe(true);

    // /new forgets it.
    await store.clearGrants(id);
    fixture.model.enqueue(lookup('toolu_after_new', 'four'), reply.text('Four.'));
    const afterNew = fixture.newRuntime().runTurn({ conversation, prompt: 'four', interaction });
    expect(await press(2, texts.questions.allowOnce)).toBe('chosen');
    expect((await afterNew).outcome).toBe('success');
  });

  it('forgets "Always" when the conversation expires and starts afresh, as /new does', async () => {
    // The in-memory store keeps grants until told: the runtime must tell it.
    const { conversation, channel, interaction, press } = setup();
    fixture.model.enqueue(lookup('toolu_granted', 'one'), reply.text('One.'));
    const first = fixture.newRuntime().runTurn({ conversation, prompt: 'one', interaction });
    expect(await press(1, texts.questions.allowAlways)).toBe('chosen');
    expect((await first).outcome).toBe('success');

    // A month later: the conversation has expired.
    const later = Date.now() + 30 * 86_400_000;
    fixture.model.enqueue(lookup('toolu_expired', 'two'), reply.text('Two.'));
    const afterExpiry = fixture
      .newRuntime({ now: () => later })
      .runTurn({ conversation, prompt: 'two', interaction });
    expect(await press(2, texts.questions.allowOnce)).toBe('chosen');
    const result = await afterExpiry;
    expect(result.outcome).toBe('success');
    expect(result.startedSession).toBe(true);
    expect(channel.shown).toHaveLength(2);
  });

  it('stays refused where nobody can be asked, and AskUserQuestion is not offered', async () => {
    const conversation = setup().conversation;
    fixture.model.enqueue(
      reply.toolCalls([
        ['toolu_unasked', `mcp__dir__${HTTP_TOOL}`, { key: 'x' }],
        ['toolu_q', 'AskUserQuestion', { questions: [COLOUR_QUESTION] }],
      ]),
      reply.text('Nobody to ask.'),
    );
    const callsBefore = http.calls.length;
    const result = await fixture.newRuntime().runTurn({ conversation, prompt: 'headless' });
    expect(result.outcome).toBe('success');
    const results = lastResults();
    expect(results.get('toolu_unasked')?.isError).toBe(true);
    expect(results.get('toolu_unasked')?.text).toContain('nobody could be asked');
    expect(results.get('toolu_q')?.isError).toBe(true);
    expect(http.calls.length).toBe(callsBefore);
    expect(fixture.model.messageRequests[0]?.body.tools?.map((tool) => tool.name)).not.toContain(
      'AskUserQuestion',
    );
  });
});

// Needs bubblewrap and socat, as every sandboxed-shell test (see secrets.e2e.test.ts).
describe.runIf(inject('shellSandbox'))('shell commands set to "ask"', () => {
  let shell: AgentFixture;

  beforeAll(async () => {
    shell = await AgentFixture.create({ 'system_prompt.md': 'You are TestBot.' });
    await writeFile(
      path.join(shell.config.dir, 'policy.json'),
      JSON.stringify({ tools: { shell: { enabled: true, commands: 'ask' } } }),
    );
    // Loaded with the real PATH, where the sandbox's programs are found.
    shell.config = await loadAgentConfig(shell.config.dir, { PATH: process.env.PATH });
  });

  afterAll(async () => {
    await shell?.close();
  });

  it('runs a command once approved; "Always" covers that command, not others', async () => {
    const { conversation, channel, interaction, press } = setup();
    const bash = (id: string, command: string) => reply.toolCalls([[id, 'Bash', { command }]]);
    const results = () => toolResultsById(shell.model.messageRequests.at(-1));

    shell.model.enqueue(bash('toolu_echo', 'echo ASKED-$((40 + 2))'), reply.text('Ran it.'));
    const first = shell.newRuntime().runTurn({ conversation, prompt: 'echo', interaction });
    expect(await press(1, texts.questions.allowAlways)).toBe('chosen');
    expect((await first).outcome).toBe('success');
    expect(channel.shown[0]?.question.text).toContain('echo ASKED-$((40 + 2))');
    expect(results().get('toolu_echo')?.text).toContain('ASKED-42');

    shell.model.enqueue(bash('toolu_again', 'echo ASKED-$((40 + 2))'), reply.text('Again.'));
    await shell.newRuntime().runTurn({ conversation, prompt: 'again', interaction });
    expect(channel.shown).toHaveLength(1);
    expect(results().get('toolu_again')?.text).toContain('ASKED-42');

    shell.model.enqueue(bash('toolu_other', 'echo OTHER'), reply.text('Refused.'));
    const other = shell.newRuntime().runTurn({ conversation, prompt: 'other', interaction });
    expect(await press(2, texts.questions.deny)).toBe('chosen');
    expect((await other).outcome).toBe('success');
    expect(results().get('toolu_other')).toMatchObject({ isError: true });
    expect(results().get('toolu_other')?.text).not.toContain('OTHER\n');
  });
});
