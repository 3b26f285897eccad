import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testConversation } from '../../../test/support/inbound-messages.js';
import { assistantToolUse } from '../../../test/support/sdk-messages.js';
import type { AnswerDraftContent, DraftOutcome } from '../../ports/channel.js';
import { silentLogger } from '../../ports/logger.js';
import { AnswerDraft, DEFAULT_DRAFTS, type DraftSettings } from './answer-draft.js';

function streamEvent(event: Record<string, unknown>, parent: string | null = null): SDKMessage {
  return {
    type: 'stream_event',
    event,
    parent_tool_use_id: parent,
    uuid: 'u',
    session_id: 's',
  } as unknown as SDKMessage;
}

const start = (id: string) => streamEvent({ type: 'message_start', message: { id } });
const textStart = () =>
  streamEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
const delta = (text: string, parent: string | null = null) =>
  streamEvent(
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
    parent,
  );

function assistantText(id: string, text: string): SDKMessage {
  return {
    type: 'assistant',
    parent_tool_use_id: null,
    uuid: 'u',
    session_id: 's',
    message: { id, role: 'assistant', content: [{ type: 'text', text }] },
  } as unknown as SDKMessage;
}

/** A channel whose draft calls the test answers one by one. */
class DraftRecorder {
  readonly calls: Array<{ draftId: number; content: AnswerDraftContent; signal?: AbortSignal }> =
    [];
  private answers: Array<(outcome: DraftOutcome | Error) => void> = [];

  sendDraft = (
    _conversation: unknown,
    draftId: number,
    content: AnswerDraftContent,
    signal?: AbortSignal,
  ): Promise<DraftOutcome> => {
    this.calls.push({ draftId, content, ...(signal ? { signal } : {}) });
    return new Promise((resolve, reject) => {
      this.answers.push((outcome) =>
        outcome instanceof Error ? reject(outcome) : resolve(outcome),
      );
    });
  };

  /** Answers the oldest call still open. */
  async answer(outcome: DraftOutcome | Error = 'shown'): Promise<void> {
    this.answers.shift()?.(outcome);
    // Let the draft's handlers run.
    await vi.advanceTimersByTimeAsync(0);
  }

  get shown(): string[] {
    return this.calls.map((call) => call.content.markdown);
  }
}

describe('AnswerDraft', () => {
  let channel: DraftRecorder;
  const settings: DraftSettings = { ...DEFAULT_DRAFTS, intervalMs: 1_000, refreshMs: 20_000 };
  const draftFor = (overrides: Partial<DraftSettings> = {}, onUnavailable?: () => void) =>
    new AnswerDraft({
      channel,
      conversation: testConversation(5),
      settings: { ...settings, ...overrides },
      logger: silentLogger,
      draftId: 42,
      onUnavailable,
    });

  beforeEach(() => {
    vi.useFakeTimers();
    channel = new DraftRecorder();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows the text as it arrives, at most one draft per interval, with the latest text', async () => {
    const draft = draftFor();
    draft.onMessage(start('m1'));
    draft.onMessage(textStart());
    draft.onMessage(delta('Hello'));
    draft.onMessage(delta(', wor'));
    draft.onMessage(delta('ld'));
    expect(channel.shown).toEqual(['Hello']);
    expect(channel.calls[0]?.draftId).toBe(42);
    await channel.answer();
    await vi.advanceTimersByTimeAsync(999);
    expect(channel.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(channel.shown).toEqual(['Hello', 'Hello, world']);
    // Nothing new: nothing sent when the interval passes.
    await channel.answer();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(channel.calls).toHaveLength(2);
    // The whole assistant message for streamed text adds nothing.
    draft.onMessage(assistantText('m1', 'Hello, world'));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(channel.calls).toHaveLength(2);
    draft.finish();
  });

  it("leaves subagents' text out and shows tool activity between the parts of the answer", async () => {
    const draft = draftFor({ intervalMs: 10 });
    draft.onMessage(start('m1'));
    draft.onMessage(textStart());
    draft.onMessage(delta('Let me look.'));
    await channel.answer();
    draft.onMessage(assistantToolUse('Read', { file_path: '/w/notes_1.txt' }));
    draft.onMessage(delta('subagent chatter', 'toolu_parent'));
    await vi.advanceTimersByTimeAsync(10);
    await channel.answer();
    draft.onMessage(start('m2'));
    draft.onMessage(textStart());
    draft.onMessage(delta('Your notes are empty.'));
    await vi.advanceTimersByTimeAsync(10);
    expect(channel.calls.at(-1)?.content).toEqual({
      markdown: 'Let me look.\n\n_• Reading notes\\_1.txt_\n\nYour notes are empty.',
      plain: 'Let me look.\n\n• Reading notes_1.txt\n\nYour notes are empty.',
    });
    expect(channel.shown.join()).not.toContain('chatter');
    draft.finish();
  });

  it('shows the text of a message that came without partial messages', () => {
    const draft = draftFor();
    draft.onMessage(assistantText('m9', 'All at once.'));
    expect(channel.shown).toEqual(['All at once.']);
    draft.finish();
  });

  it('waits as long as flood control says before the next draft, which carries the latest text', async () => {
    const draft = draftFor();
    draft.onMessage(start('m1'));
    draft.onMessage(delta('one'));
    await channel.answer({ retryAfterMs: 5_000 });
    draft.onMessage(delta(' two'));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(channel.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(channel.shown).toEqual(['one', 'one two']);
    draft.finish();
  });

  it('stops drafting (once) where drafts are unavailable, and after repeated failures', async () => {
    const unavailable = vi.fn();
    const draft = draftFor({}, unavailable);
    draft.onMessage(delta('one'));
    await channel.answer('unavailable');
    draft.onMessage(delta(' two'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(channel.calls).toHaveLength(1);
    expect(unavailable).toHaveBeenCalledTimes(1);

    const failing = draftFor({ maxFailures: 2 });
    failing.onMessage(delta('a'));
    await channel.answer(new Error('boom'));
    await vi.advanceTimersByTimeAsync(1_000);
    await channel.answer(new Error('boom'));
    failing.onMessage(delta('b'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(channel.calls).toHaveLength(3);
  });

  it('shows an unchanged draft again before Telegram drops it', async () => {
    const draft = draftFor();
    draft.onMessage(delta('thinking hard'));
    await channel.answer();
    await vi.advanceTimersByTimeAsync(19_999);
    expect(channel.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(channel.shown).toEqual(['thinking hard', 'thinking hard']);
    draft.finish();
  });

  it('finish abandons the call in flight and sends nothing more', async () => {
    const draft = draftFor();
    draft.onMessage(delta('partial'));
    const [call] = channel.calls;
    draft.finish();
    expect(call?.signal?.aborted).toBe(true);
    draft.onMessage(delta(' more'));
    await channel.answer();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(channel.calls).toHaveLength(1);
  });

  it('shows the end of a long answer, within the limit', () => {
    const draft = draftFor({ maxChars: 100 });
    const paragraphs = Array.from({ length: 20 }, (_, n) => `paragraph ${n}`).join('\n\n');
    draft.onMessage(delta(paragraphs));
    const shown = channel.shown[0] ?? '';
    expect(shown.length).toBeLessThanOrEqual(100);
    expect(shown.startsWith('…\n')).toBe(true);
    expect(shown.endsWith('paragraph 19')).toBe(true);
    draft.finish();
  });
});
