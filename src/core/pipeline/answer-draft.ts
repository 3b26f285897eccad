import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { type ConversationRef, conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import type { AnswerDraftContent, Channel, DraftOutcome } from '../../ports/channel.js';
import type { Logger } from '../../ports/logger.js';
import { TurnProgress } from './turn-progress.js';

export interface DraftSettings {
  /**
   * Least time between two drafts of one turn. Telegram allows about one
   * message a second per chat; a draft every second keeps well inside it and
   * still reads as live.
   */
  intervalMs: number;
  /** An unchanged draft is shown again after this long: Telegram drops a draft after ~30 s. */
  refreshMs: number;
  /** Activity lines kept between two parts of the answer's text, newest last. */
  maxActivityLines: number;
  /** Longest draft in characters; a longer one shows its end (what is being written now). */
  maxChars: number;
  /** Failed draft calls in a row after which the turn stops drafting. */
  maxFailures: number;
}

export const DEFAULT_DRAFTS: DraftSettings = {
  intervalMs: 1_000,
  refreshMs: 20_000,
  maxActivityLines: 3,
  maxChars: 3_500,
  maxFailures: 3,
};

/** A channel that can show drafts. */
export type DraftChannel = Required<Pick<Channel, 'sendDraft'>>;

export function showsDrafts(channel: Channel): channel is Channel & DraftChannel {
  return typeof channel.sendDraft === 'function';
}

export interface AnswerDraftOptions {
  channel: DraftChannel;
  conversation: ConversationRef;
  settings: DraftSettings;
  logger: Logger;
  /** One per turn, non-zero; random unless given. */
  draftId?: number | undefined;
  /** Called once if the channel cannot show drafts here (the caller may show progress another way). */
  onUnavailable?: (() => void) | undefined;
}

type Segment = { kind: 'text'; text: string } | { kind: 'activity'; progress: TurnProgress };

/**
 * The live preview of a turn's answer in a private chat: the top-level
 * agent's text as the model writes it (the SDK's partial messages), with what
 * the agent is doing (tool calls, described as the status message does) shown
 * between the parts of its text. Subagents' own text is not the answer and is
 * left out; their tool calls show as activity.
 *
 * Throttled: at most one call in flight and one per `intervalMs`, only when
 * the content changed (or to keep it from expiring). Flood control from the
 * channel (`retryAfterMs`) pushes the next draft back; nothing here is ever
 * retried for its own sake, since the next draft carries all the text anyway.
 * Best effort throughout: a draft is only a preview, and the answer itself is
 * sent by the worker through the reply outbox whatever happens here. Never
 * throws and never holds up the turn: `finish()` abandons a call in flight.
 */
export class AnswerDraft {
  readonly draftId: number;
  private readonly segments: Segment[] = [];
  /** Model messages (by id) whose text came as stream events; a whole message's text is used only for others. */
  private readonly streamed = new Set<string>();
  private changed = false;
  private finished = false;
  private stopped = false;
  private failures = 0;
  private inFlight = false;
  private cooldown: NodeJS.Timeout | undefined;
  private refresh: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  /** Draft calls made (tests and logs). */
  sent = 0;

  constructor(private readonly options: AnswerDraftOptions) {
    this.draftId = options.draftId ?? 1 + Math.floor(Math.random() * 0x7ffffffe);
  }

  /** Feeds one SDK message of the turn. Never throws. */
  onMessage(message: SDKMessage): void {
    if (this.finished || this.stopped) return;
    try {
      if (this.take(message)) {
        this.changed = true;
        this.pump();
      }
    } catch (error) {
      this.options.logger.warn('answer draft failed', { error: errorMessage(error) });
    }
  }

  /** Shows a step of the worker's own (a download, a transcription) like a tool call. Never throws. */
  note(line: string): void {
    if (this.finished || this.stopped) return;
    let activity = this.segments.at(-1);
    if (activity?.kind !== 'activity') {
      activity = {
        kind: 'activity',
        progress: new TurnProgress(this.options.settings.maxActivityLines),
      };
      this.segments.push(activity);
    }
    if (activity.progress.note(line)) {
      this.changed = true;
      this.pump();
    }
  }

  /** Ends drafting: no more calls, the one in flight abandoned. The answer replaces the draft. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.cooldown);
    clearTimeout(this.refresh);
    this.abort.abort();
  }

  /** The draft as it would be shown now. */
  content(): AnswerDraftContent {
    const markdown: string[] = [];
    const plain: string[] = [];
    for (const segment of this.segments) {
      if (segment.kind === 'text') {
        const text = segment.text.trim();
        if (!text) continue;
        markdown.push(text);
        plain.push(text);
      } else {
        const lines = segment.progress.lines();
        if (lines.length === 0) continue;
        markdown.push(lines.map((line) => `_• ${escapeMarkdown(line)}_`).join('\n'));
        plain.push(lines.map((line) => `• ${line}`).join('\n'));
      }
    }
    const max = this.options.settings.maxChars;
    return { markdown: tail(markdown.join('\n\n'), max), plain: tail(plain.join('\n\n'), max) };
  }

  /** Takes one message into the segments; true when what the draft shows changed. */
  private take(message: SDKMessage): boolean {
    if (message.type === 'stream_event') {
      if (message.parent_tool_use_id !== null) return false;
      const event = message.event;
      if (event.type === 'message_start') {
        this.streamed.add(event.message.id);
        return false;
      }
      if (event.type === 'content_block_start' && event.content_block.type === 'text') {
        this.segments.push({ kind: 'text', text: event.content_block.text ?? '' });
        return Boolean(event.content_block.text);
      }
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
        const last = this.segments.at(-1);
        if (last?.kind === 'text') last.text += event.delta.text;
        else this.segments.push({ kind: 'text', text: event.delta.text });
        return event.delta.text.length > 0;
      }
      return false;
    }
    if (message.type !== 'assistant') return false;
    let changed = false;
    if (message.parent_tool_use_id === null && !this.streamed.has(message.message?.id)) {
      // No partial messages came for this one: show its text whole.
      const content: unknown = message.message?.content;
      for (const block of Array.isArray(content) ? content : []) {
        if (block?.type === 'text' && typeof block.text === 'string' && block.text.trim()) {
          this.segments.push({ kind: 'text', text: block.text });
          changed = true;
        }
      }
    }
    let activity = this.segments.at(-1);
    if (activity?.kind !== 'activity') {
      activity = {
        kind: 'activity',
        progress: new TurnProgress(this.options.settings.maxActivityLines),
      };
      if (activity.progress.add(message)) {
        this.segments.push(activity);
        return true;
      }
      return changed;
    }
    return activity.progress.add(message) || changed;
  }

  /** Shows the latest content unless it is too soon, a call is in flight, or nothing changed. */
  private pump(): void {
    if (this.finished || this.stopped || this.inFlight || this.cooldown || !this.changed) return;
    const content = this.content();
    if (!content.markdown && !content.plain) return;
    this.changed = false;
    clearTimeout(this.refresh);
    this.refresh = undefined;
    this.inFlight = true;
    this.sent++;
    this.show(content)
      .then((outcome) => this.settle(outcome))
      .catch((error: unknown) => this.failed(error))
      .finally(() => {
        this.inFlight = false;
      });
  }

  private show(content: AnswerDraftContent): Promise<DraftOutcome> {
    const { channel, conversation } = this.options;
    return channel.sendDraft(conversation, this.draftId, content, this.abort.signal);
  }

  private settle(outcome: DraftOutcome): void {
    if (this.finished) return;
    if (outcome === 'unavailable') {
      this.stop('drafts are not available here');
      this.options.onUnavailable?.();
      return;
    }
    this.failures = 0;
    if (outcome === 'shown') {
      this.wait(this.options.settings.intervalMs);
      return;
    }
    // Flood control: this draft did not show; the next one, later, carries its text too.
    this.changed = true;
    this.options.logger.debug('answer draft slowed by flood control', {
      conversationId: conversationId(this.options.conversation),
      retryAfterMs: outcome.retryAfterMs,
    });
    this.wait(Math.max(outcome.retryAfterMs, this.options.settings.intervalMs));
  }

  private failed(error: unknown): void {
    if (this.finished) return;
    this.failures++;
    this.options.logger.warn('could not show the answer draft', {
      conversationId: conversationId(this.options.conversation),
      failures: this.failures,
      error: errorMessage(error),
    });
    if (this.failures >= this.options.settings.maxFailures) {
      this.stop('too many failed drafts');
      return;
    }
    this.changed = true;
    this.wait(this.options.settings.intervalMs);
  }

  /** No more drafts this turn. */
  private stop(reason: string): void {
    this.stopped = true;
    clearTimeout(this.cooldown);
    clearTimeout(this.refresh);
    this.options.logger.debug('stopped drafting the answer', {
      conversationId: conversationId(this.options.conversation),
      reason,
    });
  }

  /** Cooldown, then whatever changed meanwhile; with nothing new, the same draft again before it expires. */
  private wait(ms: number): void {
    this.cooldown = setTimeout(() => {
      this.cooldown = undefined;
      if (this.changed) {
        this.pump();
        return;
      }
      const { intervalMs, refreshMs } = this.options.settings;
      this.refresh = setTimeout(
        () => {
          this.refresh = undefined;
          this.changed = true;
          this.pump();
        },
        Math.max(0, refreshMs - intervalMs),
      );
      this.refresh.unref?.();
    }, ms);
    this.cooldown.unref?.();
  }
}

/** The end of `text` within `max` characters, cut at a block or line boundary where one is near. */
function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = max - 2;
  let start = text.length - room;
  const block = text.indexOf('\n\n', start);
  const line = text.indexOf('\n', start);
  if (block >= 0 && block < start + room / 4) start = block + 2;
  else if (line >= 0 && line < start + room / 4) start = line + 1;
  // Never start inside a surrogate pair.
  if (/[\udc00-\udfff]/.test(text.charAt(start))) start += 1;
  return `…\n${text.slice(start)}`;
}

/** Activity lines are our words around names from the agent (files, hosts): shown as they are. */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]()<>|~=$#!]/g, (char) => `\\${char}`);
}

/**
 * The `args` of the `/stop` a draft's stop button becomes. A press that comes
 * after the turn ended (the answer was on its way) is answered with silence,
 * not "nothing to stop": the person pressed a button, not a command.
 */
export const STOP_FROM_DRAFT = '(stop button of a draft)';
