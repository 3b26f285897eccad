import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeChannel, PermanentTestError } from '../../../test/support/fake-channel.js';
import { FakeTurnRunner, gatedTurn } from '../../../test/support/fake-turn-runner.js';
import { command, testMessage } from '../../../test/support/inbound-messages.js';
import { fixedConversationIndex, MemoryReplyOutbox } from '../../../test/support/memory-stores.js';
import { assistantToolUse } from '../../../test/support/sdk-messages.js';
import { InMemoryTurnControl } from '../../adapters/memory/in-memory-turn-control.js';
import { conversationId } from '../../domain/conversation.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import type { Channel, DraftOutcome } from '../../ports/channel.js';
import { STOP_FROM_DRAFT } from './answer-draft.js';
import {
  ConversationWorker,
  type ConversationWorkerOptions,
  DEFAULT_TEXTS,
} from './conversation-worker.js';

describe('ConversationWorker', () => {
  let runner: FakeTurnRunner;
  let channel: FakeChannel;
  let outbox: MemoryReplyOutbox;
  let turns: InMemoryTurnControl;
  let worker: ConversationWorker;
  const clock = 10_000_000;

  const make = (records = {}, extra: Partial<ConversationWorkerOptions> = {}) =>
    new ConversationWorker({
      runner,
      channel,
      outbox,
      turns,
      conversations: fixedConversationIndex(records),
      maxAttempts: 3,
      now: () => clock,
      ...extra,
    });

  beforeEach(() => {
    runner = new FakeTurnRunner();
    channel = new FakeChannel(20);
    outbox = new MemoryReplyOutbox();
    turns = new InMemoryTurnControl(() => clock);
    worker = make();
  });

  const turn = (messages: InboundMessage[], attempt = 1) =>
    worker.handle({ kind: 'turn', messages, attempt });
  const control = (message: InboundMessage) =>
    worker.handle({ kind: 'control', messages: [message], attempt: 1 });

  it('answers a text with one turn and completes the message', async () => {
    const message = testMessage({ id: 'm1', text: 'hi' });
    const result = await turn([message]);
    expect(runner.prompts).toEqual(['hi']);
    expect(channel.texts().join('')).toBe('echo: hi');
    expect(result).toEqual({
      type: 'settled',
      completed: ['m1'],
      deadLettered: [],
      released: [],
      outboxKey: 'm1',
    });
    expect(channel.typing).toBeGreaterThan(0);
  });

  it('combines queued messages into one turn; in groups it names speakers and replies to the last', async () => {
    const first = testMessage({
      id: 'g1',
      chatId: -5,
      chatType: 'group',
      senderName: 'Ada',
      text: 'one',
    });
    const second = testMessage({
      id: 'g2',
      chatId: -5,
      chatType: 'group',
      senderName: 'Bob',
      text: 'two',
    });
    const result = await turn([first, second]);
    expect(runner.prompts).toEqual(['Ada: one\n\nBob: two']);
    expect(channel.sent[0]?.replyTo).toBe(second.messageId);
    expect(result).toMatchObject({ type: 'settled', completed: ['g1', 'g2'] });
  });

  it('/new resets the conversation and says so', async () => {
    const message = testMessage({ body: command('new') });
    await turn([message]);
    expect(runner.resets).toEqual([message.conversation]);
    expect(runner.requests).toHaveLength(0);
    expect(channel.texts().join('')).toBe(DEFAULT_TEXTS.newSession);
  });

  it('/stop cancels the running turn, which answers "Stopped." once; with nothing running it says so', async () => {
    const gate = gatedTurn();
    runner.next(gate.turn);
    const running = turn([testMessage({ id: 'long', text: 'work hard' })]);
    await gate.started;
    const stop = await control(testMessage({ body: command('stop') }));
    expect(stop).toMatchObject({ type: 'settled', completed: [expect.any(String)] });
    expect(await running).toMatchObject({ type: 'settled', completed: ['long'] });
    expect(channel.texts()).toEqual([DEFAULT_TEXTS.stopped]);

    await control(testMessage({ body: command('stop') }));
    expect(channel.texts().join('')).toBe(DEFAULT_TEXTS.stopped + DEFAULT_TEXTS.nothingToStop);
    // The stop button of a draft pressed as the answer went out: silence, not "nothing to stop".
    await control(
      testMessage({ body: { kind: 'command', command: 'stop', args: STOP_FROM_DRAFT } }),
    );
    expect(channel.texts().join('')).toBe(DEFAULT_TEXTS.stopped + DEFAULT_TEXTS.nothingToStop);
  });

  it('/status reports the session, usage and a running turn', async () => {
    const message = testMessage({ body: command('status') });
    const id = conversationId(message.conversation);
    worker = make({
      [id]: {
        conversationId: id,
        sessionId: 'abcdef123456',
        projectKey: 'p',
        createdAt: 0,
        updatedAt: clock - 120_000,
        expiresAt: clock + 1,
        turns: 7,
        inputTokens: 12_345,
        outputTokens: 678,
        costUsd: 0.1234,
        sessionCostUsd: 0.1,
        version: 3,
      },
    });
    const running = turns.begin(id);
    await control(message);
    running.end();
    const [status] = [channel.texts().join('')];
    expect(status).toContain('abcdef12');
    expect(status).toContain('Turns: 7');
    expect(status).toContain('12,345 in, 678 out');
    expect(status).toContain('$0.1234');
    expect(status).toContain('Working: yes');
    expect(status).toContain('(last active 2 min ago)');
    expect(status).toContain('Working: yes, for 0 s');
  });

  it('/status before the first turn says there is no session yet', async () => {
    await control(testMessage({ body: command('status') }));
    expect(channel.texts().join('')).toBe(
      [
        'Session: none yet (your next message starts one)',
        'Turns: 0',
        'Tokens: 0 in, 0 out',
        'Cost: $0.0000',
        'Working: no',
      ].join('\n'),
    );
  });

  it('sends the English texts unless the worker is given its own', async () => {
    channel = new FakeChannel(10_000);
    worker = make();
    await control(testMessage({ body: command('stop') }));
    worker = make({}, { texts: { nothingToStop: 'Nichts läuft gerade.' } });
    await control(testMessage({ body: command('stop') }));
    await control(testMessage({ body: { kind: 'unsupported', what: 'stickers' } }));
    expect(channel.texts()).toEqual([
      'Nothing is running right now.',
      'Nichts läuft gerade.',
      "Sorry, I can't handle stickers yet. Please send me text.",
    ]);
  });

  it('answers help, unsupported messages and refusals on the control lane without the model', async () => {
    channel = new FakeChannel(10_000);
    worker = make();
    await control(testMessage({ body: command('help') }));
    await control(testMessage({ body: { kind: 'unsupported', what: 'a sticker' } }));
    await control(testMessage({ body: { kind: 'refused', hint: 'Ask the operator.' } }));
    expect(channel.texts()).toEqual([
      DEFAULT_TEXTS.help,
      DEFAULT_TEXTS.unsupported('a sticker'),
      'Ask the operator.',
    ]);
    expect(runner.requests).toHaveLength(0);
  });

  it('asks for a retry on a failed turn, and on the last attempt sends one failure message', async () => {
    const failing = () => ({ outcome: 'error' as const, errorMessage: 'Sorry, it broke.' });
    runner.setFallback(failing);
    const message = testMessage({ id: 'm1', text: 'hi' });
    expect(await turn([message], 1)).toEqual({
      type: 'retry',
      error: 'turn ended with outcome error',
    });
    expect(await turn([message], 2)).toMatchObject({ type: 'retry' });
    expect(channel.sent).toHaveLength(0);
    expect(await turn([message], 3)).toMatchObject({
      type: 'settled',
      completed: [],
      deadLettered: ['m1'],
    });
    expect(channel.texts()).toEqual(['Sorry, it broke.']);
  });

  it('gives up with the failure message when the process died on every attempt', async () => {
    const result = await turn([testMessage({ id: 'm1' })], 4);
    expect(runner.requests).toHaveLength(0);
    expect(result).toMatchObject({ deadLettered: ['m1'] });
    expect(channel.texts().join('')).toBe(DEFAULT_TEXTS.failed);
  });

  it('after a failure mid-delivery, finishes the saved answer without running the turn again', async () => {
    runner.setFallback(() => ({ text: 'A'.repeat(20) + 'B'.repeat(20) + 'C'.repeat(5) }));
    const first = testMessage({ id: 'm1' });
    channel.sent.length = 0;
    // The first part goes out, the second fails.
    const sends = channel.send.bind(channel);
    let calls = 0;
    channel.send = async (...args) => {
      calls++;
      if (calls === 2) throw new Error('network down');
      return sends(...args);
    };
    expect(await turn([first], 1)).toMatchObject({ type: 'retry' });
    expect(channel.texts()).toEqual(['A'.repeat(20)]);

    // Redelivered with a newer message queued behind it: that one is released for the next turn.
    const later = testMessage({ id: 'm2' });
    const result = await turn([first, later], 2);
    expect(runner.requests).toHaveLength(1);
    expect(channel.texts()).toEqual(['A'.repeat(20), 'B'.repeat(20), 'C'.repeat(5)]);
    expect(result).toMatchObject({ type: 'settled', completed: ['m1'], released: ['m2'] });
  });

  it('gives up quietly when the chat cannot be reached', async () => {
    channel.failNextSends(new PermanentTestError('bot was blocked by the user'));
    const result = await turn([testMessage({ id: 'm1' })], 1);
    expect(result).toMatchObject({ type: 'settled', completed: [], deadLettered: ['m1'] });
  });

  it('puts the messages back untouched when shutdown interrupts the turn', async () => {
    const gate = gatedTurn();
    runner.next(gate.turn);
    const shutdown = new AbortController();
    const running = worker.handle({
      kind: 'turn',
      messages: [testMessage()],
      attempt: 1,
      shutdown: shutdown.signal,
    });
    await gate.started;
    shutdown.abort();
    expect(await running).toEqual({ type: 'released' });
    expect(channel.sent).toHaveLength(0);
  });

  describe('progress message', () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    /** A turn that runs until released; `step` feeds it SDK messages meanwhile. */
    const slowTurn = async (id = 'slow') => {
      const gate = gatedTurn('the answer');
      runner.next(gate.turn);
      const result = turn([testMessage({ id, text: 'work' })]);
      await gate.started;
      const request = runner.requests.at(-1);
      const step = (name: string, input: Record<string, unknown>) =>
        request?.onMessage?.(assistantToolUse(name, input));
      return { gate, result, step };
    };
    const actions = () => channel.statusCalls.map((call) => call.action);

    it('shows nothing for a quick answer', async () => {
      const result = turn([testMessage({ id: 'quick', text: 'hi' })]);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(await result).toMatchObject({ type: 'settled', completed: ['quick'] });
      expect(channel.statusCalls).toEqual([]);
    });

    it('appears after the delay, edits at most once per interval when something changed, and is deleted before the answer', async () => {
      const { gate, result, step } = await slowTurn();
      step('Read', { file_path: '/workspace/notes.txt' });
      await vi.advanceTimersByTimeAsync(2_999);
      expect(channel.statusCalls).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(channel.statusCalls).toEqual([
        expect.objectContaining({ action: 'send', text: 'Working on it…\n• Reading notes.txt' }),
      ]);

      // Three steps within one interval: one edit, with the latest lines.
      step('WebSearch', { query: 'S3 pricing' });
      step('WebFetch', { url: 'https://aws.amazon.com/s3/pricing/' });
      step('Agent', { prompt: 'p', subagent_type: 'aws-support' });
      await vi.advanceTimersByTimeAsync(1_999);
      expect(actions()).toEqual(['send']);
      await vi.advanceTimersByTimeAsync(1);
      expect(channel.statusCalls.at(-1)).toMatchObject({
        action: 'edit',
        text: 'Working on it…\n• Searching the web for "S3 pricing"\n• Fetching aws.amazon.com\n• Asking the aws-support subagent',
      });
      // Nothing new: no more edits.
      await vi.advanceTimersByTimeAsync(10_000);
      expect(actions()).toEqual(['send', 'edit']);

      let statusesWhenAnswered = -1;
      const send = channel.send.bind(channel);
      channel.send = async (...args) => {
        statusesWhenAnswered = channel.statuses.size;
        return send(...args);
      };
      gate.release();
      expect(await result).toMatchObject({ type: 'settled', completed: ['slow'] });
      expect(actions()).toEqual(['send', 'edit', 'delete']);
      expect(statusesWhenAnswered).toBe(0);
      expect(channel.texts()).toEqual(['the answer']);
    });

    it('never breaks the turn: a failing edit is skipped, a failing delete leaves "Done."', async () => {
      channel.statusFailures.edit = new Error('Too Many Requests');
      const { gate, result, step } = await slowTurn();
      await vi.advanceTimersByTimeAsync(3_000);
      expect(channel.statuses.size).toBe(1);
      step('Read', { file_path: 'a.txt' });
      await vi.advanceTimersByTimeAsync(2_000);
      channel.statusFailures.edit = undefined;
      channel.statusFailures.delete = new Error('message can not be deleted');
      gate.release();
      expect(await result).toMatchObject({ type: 'settled', completed: ['slow'] });
      expect([...channel.statuses.values()]).toEqual([DEFAULT_TEXTS.workingDone]);
      expect(channel.texts()).toEqual(['the answer']);
    });

    it('gives up on progress for the turn when the status message cannot be sent', async () => {
      channel.statusFailures.send = new Error('network down');
      const { gate, result, step } = await slowTurn();
      await vi.advanceTimersByTimeAsync(3_000);
      step('Read', { file_path: 'a.txt' });
      await vi.advanceTimersByTimeAsync(10_000);
      gate.release();
      expect(await result).toMatchObject({ type: 'settled', completed: ['slow'] });
      expect(channel.statusCalls).toEqual([]);
      expect(channel.texts()).toEqual(['the answer']);
    });

    it('gives way to a draft of the answer in a private chat, and stands in where drafts are unavailable', async () => {
      const drafts: string[] = [];
      let outcome: DraftOutcome = 'shown';
      const sendDraft: Channel['sendDraft'] = async (_conversation, _draftId, content) => {
        drafts.push(content.plain);
        return outcome;
      };
      Object.assign(channel, { sendDraft });
      const first = await slowTurn('drafted');
      first.step('Read', { file_path: 'a.txt' });
      await vi.advanceTimersByTimeAsync(10_000);
      expect(drafts).toEqual(['• Reading a.txt']);
      expect(channel.statusCalls).toEqual([]);
      first.gate.release();
      expect(await first.result).toMatchObject({ type: 'settled', completed: ['drafted'] });

      outcome = 'unavailable';
      const second = await slowTurn('no drafts');
      second.step('Read', { file_path: 'b.txt' });
      await vi.advanceTimersByTimeAsync(10_000);
      expect(actions()).toEqual(['send']);
      second.gate.release();
      await second.result;
      expect(actions()).toEqual(['send', 'delete']);
    });

    it('is removed when the turn is stopped, and not shown when progress is off', async () => {
      const { result } = await slowTurn();
      await vi.advanceTimersByTimeAsync(3_000);
      await control(testMessage({ body: command('stop') }));
      await result;
      expect(actions()).toEqual(['send', 'delete']);
      expect(channel.texts()).toEqual([DEFAULT_TEXTS.stopped]);

      worker = make({}, { progress: false });
      channel.statusCalls.length = 0;
      const { gate, result: quiet } = await slowTurn('quiet');
      await vi.advanceTimersByTimeAsync(10_000);
      gate.release();
      await quiet;
      expect(channel.statusCalls).toEqual([]);
    });

    it('shows no progress when a re-run only redelivers a saved answer', async () => {
      const message = testMessage({ id: 'saved' });
      await outbox.put('saved', {
        messageIds: ['saved'],
        parts: [{ text: 'saved answer' }],
        disposition: 'answered',
        replyTo: undefined,
      });
      const result = turn([message], 2);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(await result).toMatchObject({ type: 'settled', completed: ['saved'] });
      expect(runner.requests).toHaveLength(0);
      expect(channel.statusCalls).toEqual([]);
      expect(channel.texts()).toEqual(['saved answer']);
    });
  });

  describe('delivery by editing (exactly once)', () => {
    beforeEach(() => {
      channel = new FakeChannel(20, { editing: true });
      worker = make();
    });
    const conversation = testMessage().conversation;

    it('writes each part into a placeholder whose id the outbox recorded first', async () => {
      runner.setFallback(() => ({ text: 'A'.repeat(20) + 'B'.repeat(5) }));
      const recorded: string[] = [];
      const record = outbox.recordPartMessage.bind(outbox);
      outbox.recordPartMessage = async (key, index, id) => {
        // The placeholder is still empty when its id is recorded.
        recorded.push(`${index}:${channel.chat.get(id)?.text}`);
        return record(key, index, id);
      };
      const message = testMessage({ id: 'g1', chatId: -5, chatType: 'group', text: 'hi' });
      expect(await turn([message])).toMatchObject({ type: 'settled', completed: ['g1'] });
      expect(recorded).toEqual(['0:…', '1:…']);
      expect(channel.shown()).toEqual(['A'.repeat(20), 'B'.repeat(5)]);
      expect(channel.sent).toEqual([]);
      // The first part answers the group's message; an edit cannot add that later.
      expect([...channel.chat.values()].map((m) => m.replyTo)).toEqual([
        message.messageId,
        undefined,
      ]);
    });

    it('after an edit whose outcome was lost, a redelivery edits the same message: each part shows once', async () => {
      runner.setFallback(() => ({ text: 'A'.repeat(20) + 'B'.repeat(20) + 'C'.repeat(5) }));
      const message = testMessage({ id: 'm1' });
      // Part 2's edit reaches the chat, but its answer is lost (a timeout, a crash).
      let edits = 0;
      const edit = channel.editPart?.bind(channel);
      channel.editPart = async (...args) => {
        edits++;
        if (edits === 2) {
          await edit?.(...args);
          throw new Error('socket hang up');
        }
        return (await edit?.(...args)) ?? 'missing';
      };
      expect(await turn([message], 1)).toMatchObject({ type: 'retry' });
      expect(channel.shown()).toEqual(['A'.repeat(20), 'B'.repeat(20)]);

      expect(await turn([message], 2)).toMatchObject({ type: 'settled', completed: ['m1'] });
      expect(runner.requests).toHaveLength(1);
      expect(channel.shown()).toEqual(['A'.repeat(20), 'B'.repeat(20), 'C'.repeat(5)]);
      expect(channel.editCalls.filter((call) => call.action === 'placeholder')).toHaveLength(3);
    });

    it('a placeholder send that failed is sent again; a placeholder deleted meanwhile is replaced', async () => {
      channel.placeholderFailures.push(new Error('network down'));
      const message = testMessage({ id: 'm1', text: 'hi' });
      expect(await turn([message], 1)).toMatchObject({ type: 'retry' });
      expect(channel.shown()).toEqual([]);
      expect(await turn([message], 2)).toMatchObject({ type: 'settled', completed: ['m1'] });
      expect(channel.shown()).toEqual(['echo: hi']);

      // An answer whose recorded message the person deleted before the tick was written.
      await outbox.put('gone', {
        messageIds: ['gone'],
        parts: [{ text: 'again' }],
        disposition: 'answered',
      });
      await outbox.recordPartMessage('gone', 0, 'msg-deleted');
      expect(await turn([testMessage({ id: 'gone' })], 2)).toMatchObject({ type: 'settled' });
      expect(channel.shown()).toEqual(['echo: hi', 'again']);
    });

    it('records the status message when it is sent and forgets it when it is deleted', async () => {
      vi.useFakeTimers();
      try {
        const gate = gatedTurn('the answer');
        runner.next(gate.turn);
        const result = turn([testMessage({ id: 'slow', text: 'work' })]);
        await gate.started;
        await vi.advanceTimersByTimeAsync(3_000);
        const [status] = [...channel.statuses.keys()];
        expect(await outbox.statusMessage('slow')).toBe(status);
        gate.release();
        await result;
        expect(await outbox.statusMessage('slow')).toBeNull();
        expect(channel.statuses.size).toBe(0);
      } finally {
        vi.useRealTimers();
      }
    });

    it('a retried turn takes over the status message a crashed attempt left, instead of adding one', async () => {
      // What a killed attempt leaves: its status message, recorded.
      const left = await channel.sendStatus(conversation, 'Working on it…\n• Reading a.txt');
      await outbox.recordStatusMessage('m1', left);
      channel.statusCalls.length = 0;

      const result = await turn([testMessage({ id: 'm1', text: 'hi' })], 2);
      expect(result).toMatchObject({ type: 'settled', completed: ['m1'] });
      expect(channel.statusCalls.map((call) => [call.action, call.messageId])).toEqual([
        ['edit', left],
        ['delete', left],
      ]);
      expect(channel.statuses.size).toBe(0);
      expect(channel.shown()).toEqual(['echo: hi']);
      expect(await outbox.statusMessage('m1')).toBeNull();
    });

    it('a redelivered answer or a batch given up removes the status message an attempt left', async () => {
      const left = await channel.sendStatus(conversation, 'Working on it…');
      await outbox.recordStatusMessage('saved', left);
      await outbox.put('saved', {
        messageIds: ['saved'],
        parts: [{ text: 'saved answer' }],
        disposition: 'answered',
      });
      expect(await turn([testMessage({ id: 'saved' })], 2)).toMatchObject({ type: 'settled' });
      expect(runner.requests).toHaveLength(0);

      const other = await channel.sendStatus(conversation, 'Working on it…');
      await outbox.recordStatusMessage('doomed', other);
      expect(await turn([testMessage({ id: 'doomed' })], 4)).toMatchObject({
        deadLettered: ['doomed'],
      });
      expect(channel.statuses.size).toBe(0);
      const [saved, ...failure] = channel.shown();
      expect(saved).toBe('saved answer');
      expect(failure.join('')).toBe(DEFAULT_TEXTS.failed);
    });
  });
});
