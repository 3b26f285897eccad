import { type ConversationRef, conversationId } from '../../domain/conversation.js';
import { AgentError, errorMessage } from '../../domain/errors.js';
import { type InboundMessage, type LaneKind, promptFor } from '../../domain/inbound-message.js';
import { asOutgoingFile, type StagedFile, stagedFilePart } from '../../domain/outgoing-file.js';
import {
  asksWithButtons,
  type Channel,
  deliversByEditing,
  hasStatusMessages,
  type OutgoingPart,
} from '../../ports/channel.js';
import type { ConversationIndex } from '../../ports/conversation-index.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { QuestionStore } from '../../ports/question-store.js';
import type { OutboxEntry, ReplyOutbox } from '../../ports/reply-outbox.js';
import type { TurnControl } from '../../ports/turn-control.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { type Texts, texts } from '../../texts/en.js';
import {
  AnswerDraft,
  DEFAULT_DRAFTS,
  type DraftSettings,
  STOP_FROM_DRAFT,
  showsDrafts,
} from './answer-draft.js';
import {
  DEFAULT_MAX_DOWNLOAD_BYTES,
  type MediaSettings,
  type PreparedMedia,
  prepareInboundMedia,
  withNotices,
} from './inbound-media.js';
import { replaceWithFallback } from './part-fallback.js';
import { DEFAULT_PROGRESS, ProgressMessage, type ProgressSettings } from './progress-message.js';
import { discardStagedFiles } from './staged-files.js';
import { DEFAULT_QUESTION_TIMEOUT_MS, TurnQuestions } from './turn-questions.js';

/**
 * The channel-independent handling of one batch of a conversation's messages:
 * commands, one agent turn for the texts that queued up together, the typing
 * indicator and (when the turn takes a while) a status message while it runs,
 * the answer, and the one failure message when all attempts are spent.
 * Written once; the local worker pool and the Lambda worker both drive it,
 * each with its own queue semantics around it.
 *
 * Every answer goes through the reply outbox before it is sent: a batch that
 * is handled again after a crash finds its answer there and only finishes
 * delivering it, so a turn that completed is never run (or answered) twice.
 *
 * Shown exactly once, by construction, on channels that deliver by editing
 * (Telegram): each part first gets a placeholder message, whose id is
 * recorded in the outbox, and is then edited into it. A part delivered again
 * (its tick lost in a crash, whatever the send's outcome) is edited into the
 * same message once more, which changes nothing; only a part with no recorded
 * message is ever sent. The one window left is a crash between the channel
 * creating a placeholder and the outbox recording its id: that leaves a stray
 * placeholder ("…"), never a second copy of the part, since the Bot API can
 * neither send idempotently nor list a chat's messages to find it again.
 * The status message is recorded as soon as it is sent, too, so a later
 * attempt reuses it (a retried turn) or deletes it (a redelivered answer,
 * a batch given up) instead of leaving "Working on it…" in the chat.
 */

/** The texts the worker sends; any of them can be replaced per worker. */
export type WorkerTexts = Pick<
  Texts,
  | 'help'
  | 'newSession'
  | 'nothingToStop'
  | 'status'
  | 'stopped'
  | 'emptyAnswer'
  | 'failed'
  | 'unsupported'
  | 'working'
  | 'workingDone'
  | 'fileNotDelivered'
>;

/** The active language's texts (src/texts). */
export const DEFAULT_TEXTS: WorkerTexts = texts;

export interface ConversationWorkerOptions {
  runner: TurnRunner;
  channel: Channel;
  outbox: ReplyOutbox;
  conversations: ConversationIndex;
  turns: TurnControl;
  /** Attempts before a batch is given up and its sender told so. */
  maxAttempts: number;
  texts?: Partial<WorkerTexts> | undefined;
  /** How often to renew the typing indicator (Telegram's lasts about 5 s). */
  typingIntervalMs?: number | undefined;
  /**
   * The status message shown while a turn runs, on channels that support it
   * (see `Channel.sendStatus`); `false` turns it off. Defaults: DEFAULT_PROGRESS.
   */
  progress?: Partial<ProgressSettings> | false | undefined;
  /**
   * The answer previewed as a draft while it is written, in private chats on
   * channels with drafts (see `Channel.sendDraft`), instead of the status
   * message; `false` turns it off. Defaults: DEFAULT_DRAFTS.
   */
  drafts?: Partial<DraftSettings> | false | undefined;
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
  /** Files people send: the download cap, speech to text (see inbound-media.ts). */
  media?: Partial<MediaSettings> | undefined;
  /**
   * Questions the turn asks the person, with buttons (turn-questions.ts), on
   * channels that can show them; "always" approvals are forgotten by `/new`.
   */
  questions?: { store: QuestionStore; timeoutMs?: number | undefined } | undefined;
}

export interface BatchInput {
  kind: LaneKind;
  /** Oldest first, never empty; all of one conversation. */
  messages: InboundMessage[];
  /** 1 on the first try. */
  attempt: number;
  /** Aborted when the process shuts down: a running turn is abandoned and its messages put back. */
  shutdown?: AbortSignal | undefined;
}

/** What the queue should do with the batch's messages. */
export type BatchResult =
  | {
      type: 'settled';
      /** Answered (or needing no answer): remove. */
      completed: string[];
      /** Given up (the sender was told, if they could be reached): dead letters. */
      deadLettered: string[];
      /** Claimed but not covered by this answer: back to the queue, untouched. */
      released: string[];
      /** Reply outbox key to clean up once the queue has recorded the outcome. */
      outboxKey: string;
      error?: string | undefined;
    }
  /** Try the whole batch again later. */
  | { type: 'retry'; error: string }
  /** Not handled at all (shutdown): put back without counting the attempt. */
  | { type: 'released' };

/** A turn the runtime reported as failed; worth another try. */
export class TurnFailedError extends AgentError {
  static override readonly errorName = 'TurnFailedError';
  constructor(
    message: string,
    /** What the runtime suggests telling the person, if it gives up. */
    readonly userMessage?: string | undefined,
  ) {
    super(message);
  }
}

interface Answer {
  text: string;
  format: 'markdown' | 'plain';
  /** Files the agent sent, delivered after the text (staged; see domain/outgoing-file.ts). */
  files?: StagedFile[] | undefined;
}

export class ConversationWorker {
  private readonly texts: WorkerTexts;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly typingIntervalMs: number;
  private readonly progress: ProgressSettings | undefined;
  private readonly drafts: DraftSettings | undefined;

  constructor(private readonly options: ConversationWorkerOptions) {
    this.texts = { ...DEFAULT_TEXTS, ...options.texts };
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.typingIntervalMs = options.typingIntervalMs ?? 4_000;
    this.progress =
      options.progress === false ? undefined : { ...DEFAULT_PROGRESS, ...options.progress };
    this.drafts = options.drafts === false ? undefined : { ...DEFAULT_DRAFTS, ...options.drafts };
  }

  async handle(input: BatchInput): Promise<BatchResult> {
    const [head] = input.messages;
    if (!head) throw new Error('handle() needs at least one message');
    const key = head.id;

    const pending = await this.options.outbox.get(key);
    if (pending) {
      // The attempt that saved this answer may have died before its status message went.
      await this.removeLeftoverStatus(key, head.conversation);
      return this.deliver(key, pending, input);
    }

    // Only the head decides the batch's kind; the queue only combines what may combine.
    const batch = input.kind === 'control' ? [head] : input.messages;
    if (input.attempt > this.options.maxAttempts) {
      // Claimed more often than allowed without ever finishing: the process
      // died on it each time. Give up rather than crash forever.
      return this.giveUp(key, batch, input, 'interrupted on every attempt', undefined);
    }

    let answer: Answer | null | 'released';
    try {
      answer =
        input.kind === 'control' ? await this.control(head) : await this.turn(key, batch, input);
    } catch (error) {
      if (input.shutdown?.aborted) return { type: 'released' };
      const message = errorMessage(error);
      this.logger.warn('batch failed', {
        conversationId: conversationId(head.conversation),
        attempt: input.attempt,
        error: message,
      });
      if (input.attempt < this.options.maxAttempts) return { type: 'retry', error: message };
      const userMessage = TurnFailedError.isInstance(error) ? error.userMessage : undefined;
      return this.giveUp(key, batch, input, message, userMessage);
    }
    if (answer === 'released') return { type: 'released' };

    const ids = batch.map((message) => message.id);
    const parts = answer
      ? [...(answer.text ? this.format(answer) : []), ...(answer.files ?? []).map(stagedFilePart)]
      : [];
    const entry: OutboxEntry = {
      messageIds: ids,
      parts,
      sent: 0,
      disposition: 'answered',
      replyTo: replyTarget(batch),
      partMessages: {},
    };
    await this.options.outbox.put(key, entry);
    return this.deliver(key, entry, input);
  }

  private format(answer: Answer): OutgoingPart[] {
    const { channel } = this.options;
    return answer.format === 'markdown'
      ? channel.formatMarkdown(answer.text)
      : channel.formatPlain(answer.text);
  }

  private async turn(
    key: string,
    messages: InboundMessage[],
    input: BatchInput,
  ): Promise<Answer | null | 'released'> {
    const head = messages[0] as InboundMessage;
    const conversation = head.conversation;
    if (head.body.kind === 'command' && head.body.command === 'new') {
      await this.options.runner.resetConversation(conversation);
      await this.options.questions?.store.clearGrants(conversationId(conversation));
      return { text: this.texts.newSession, format: 'plain' };
    }

    const id = conversationId(conversation);
    const running = this.options.turns.begin(id);
    const signal = input.shutdown
      ? AbortSignal.any([running.signal, input.shutdown])
      : running.signal;
    const stopTyping = this.keepTyping(head);
    const progress = await this.progressMessage(key, conversation);
    const draft = this.answerDraft(head, progress);
    if (!draft) progress?.start();
    const startedAt = this.now();
    let media: PreparedMedia | undefined;
    try {
      try {
        media = await prepareInboundMedia(messages, {
          channel: this.options.channel,
          settings: { maxDownloadBytes: DEFAULT_MAX_DOWNLOAD_BYTES, ...this.options.media },
          logger: this.logger,
          signal,
          onStep: (line) => {
            progress?.note(line);
            draft?.note(line);
          },
        });
      } catch (error) {
        // A /stop while a file downloads: stopped, like a turn.
        if (running.signal.aborted && !input.shutdown?.aborted)
          return { text: this.texts.stopped, format: 'plain' };
        throw error;
      }
      if (media.refusal) return { text: media.refusal, format: 'plain' };
      const result = await this.options.runner.runTurn({
        conversation,
        prompt: promptFor(media.messages),
        signal,
        onMessage:
          (progress || draft) &&
          ((message) => {
            draft?.onMessage(message);
            progress?.onMessage(message);
          }),
        interaction: this.interaction(conversation),
        messages,
        attachments: media.attachments,
      });
      this.logger.info('turn finished', {
        conversationId: id,
        messages: messages.length,
        outcome: result.outcome,
        durationMs: this.now() - startedAt,
        costUsd: result.costUsd,
      });
      // Shutdown, not /stop: leave the messages for the next start.
      if (input.shutdown?.aborted && !running.signal.aborted) return 'released';
      // Goes on in a continuation (see continuation.ts): at most a notice now.
      if (result.continued) {
        // The files the cut run sent go now: the continuation stages its own.
        return result.errorMessage || result.files?.length
          ? { text: result.errorMessage ?? '', format: 'plain', files: result.files }
          : null;
      }
      switch (result.outcome) {
        case 'success':
          return {
            text: withNotices(result.text.trim() || this.texts.emptyAnswer, media.notices),
            format: 'markdown',
            files: result.files,
          };
        case 'cancelled':
          return { text: this.texts.stopped, format: 'plain', files: result.files };
        case 'max_turns':
        case 'budget_exceeded':
        case 'model_unavailable':
          return {
            text: result.errorMessage ?? this.texts.failed,
            format: 'plain',
            files: result.files,
          };
        default:
          throw new TurnFailedError(
            `turn ended with outcome ${result.outcome}`,
            result.errorMessage,
          );
      }
    } finally {
      stopTyping();
      running.end();
      draft?.finish();
      await media?.dispose();
      // Gone before the answer is sent (or, if Telegram is slow, soon after).
      await progress?.finish();
    }
  }

  /** How the turn asks the person, where the channel shows buttons and a store carries answers. */
  private interaction(conversation: ConversationRef): TurnQuestions | undefined {
    const { channel, questions } = this.options;
    if (!questions || !asksWithButtons(channel)) return undefined;
    return new TurnQuestions({
      channel,
      store: questions.store,
      conversation,
      timeoutMs: questions.timeoutMs ?? DEFAULT_QUESTION_TIMEOUT_MS,
      logger: this.logger,
      now: this.now,
    });
  }

  /**
   * The turn's status message, if the channel can show one and it is not
   * turned off. Its id goes into the outbox as soon as it is sent (and out
   * when it is gone), so an attempt after a crash takes over the one an
   * earlier attempt left showing rather than adding another.
   */
  private async progressMessage(
    key: string,
    conversation: ConversationRef,
  ): Promise<ProgressMessage | undefined> {
    const { channel, outbox } = this.options;
    if (!this.progress || !hasStatusMessages(channel)) return undefined;
    const existingId = (await outbox.statusMessage(key)) ?? undefined;
    return new ProgressMessage({
      channel,
      conversation,
      settings: this.progress,
      heading: this.texts.working,
      done: this.texts.workingDone,
      logger: this.logger,
      existingId,
      onShown: (id) => outbox.recordStatusMessage(key, id),
      onRemoved: () => outbox.recordStatusMessage(key, null),
    });
  }

  /**
   * The answer's draft, in a private chat on a channel with drafts. The
   * status message then waits in reserve: it starts if drafts turn out to be
   * unavailable (an older Bot API), so the person still sees progress.
   */
  private answerDraft(
    head: InboundMessage,
    progress: ProgressMessage | undefined,
  ): AnswerDraft | undefined {
    const { channel } = this.options;
    if (!this.drafts || head.chatType !== 'private' || !showsDrafts(channel)) return undefined;
    return new AnswerDraft({
      channel,
      conversation: head.conversation,
      settings: this.drafts,
      logger: this.logger,
      onUnavailable: () => progress?.start(),
    });
  }

  /** Deletes a status message an earlier attempt recorded and never removed. Never throws for the channel. */
  private async removeLeftoverStatus(key: string, conversation: ConversationRef): Promise<void> {
    const { channel, outbox } = this.options;
    if (!hasStatusMessages(channel)) return;
    const id = await outbox.statusMessage(key);
    if (id === null) return;
    const progress = new ProgressMessage({
      channel,
      conversation,
      settings: { ...DEFAULT_PROGRESS, ...this.progress },
      heading: this.texts.working,
      done: this.texts.workingDone,
      logger: this.logger,
      existingId: id,
      onRemoved: () => outbox.recordStatusMessage(key, null),
    });
    await progress.finish();
  }

  private async control(message: InboundMessage): Promise<Answer | null> {
    const { body } = message;
    const id = conversationId(message.conversation);
    switch (body.kind) {
      case 'refused':
        return { text: body.hint, format: 'plain' };
      case 'unsupported':
        return { text: this.texts.unsupported(body.what), format: 'plain' };
      case 'text':
      case 'media':
        this.logger.error('text message on the control lane; dropped', { conversationId: id });
        return null;
      case 'command':
        break;
    }
    switch (body.command) {
      case 'start':
      case 'help':
        return { text: this.texts.help, format: 'plain' };
      case 'stop': {
        // The stopped turn answers for itself ("Stopped."); one message is enough.
        const stopped = await this.options.turns.requestStop(id);
        if (stopped || body.args === STOP_FROM_DRAFT) return null;
        return { text: this.texts.nothingToStop, format: 'plain' };
      }
      case 'status':
        return { text: await this.status(id), format: 'plain' };
      case 'new':
        this.logger.error('/new on the control lane; dropped', { conversationId: id });
        return null;
    }
  }

  private async status(id: string): Promise<string> {
    const [record, since] = await Promise.all([
      this.options.conversations.get(id),
      this.options.turns.runningSince(id),
    ]);
    const now = this.now();
    return this.texts.status({
      session: record?.sessionId ? { id: record.sessionId, idleMs: now - record.updatedAt } : null,
      turns: record?.turns ?? 0,
      inputTokens: record?.inputTokens ?? 0,
      outputTokens: record?.outputTokens ?? 0,
      costUsd: record?.costUsd ?? 0,
      runningForMs: since === null ? null : now - since,
    });
  }

  /** Show "typing…" now and keep renewing it until the returned function is called. */
  private keepTyping(message: InboundMessage): () => void {
    const show = () => {
      this.options.channel.showTyping(message.conversation).catch((error: unknown) => {
        this.logger.debug('typing indicator failed', { error: errorMessage(error) });
      });
    };
    show();
    const timer = setInterval(show, this.typingIntervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /** Send the parts not yet sent, ticking each off; then settle the batch. */
  private async deliver(key: string, entry: OutboxEntry, input: BatchInput): Promise<BatchResult> {
    const head = input.messages[0] as InboundMessage;
    const covered = new Set(entry.messageIds);
    const released = input.messages.filter((message) => !covered.has(message.id)).map((m) => m.id);
    for (let index = entry.sent; index < entry.parts.length; index++) {
      try {
        await this.deliverPart(key, entry, index, head.conversation);
      } catch (error) {
        const message = errorMessage(error);
        const permanent = this.options.channel.isPermanentFailure(error);
        this.logger.warn('delivering an answer failed', {
          conversationId: conversationId(head.conversation),
          part: index,
          permanent,
          error: message,
        });
        if (!permanent && input.attempt < this.options.maxAttempts)
          return { type: 'retry', error: message };
        await discardStagedFiles(entry.parts, this.logger);
        // Nobody to tell: the chat cannot be reached.
        return {
          type: 'settled',
          completed: [],
          deadLettered: entry.messageIds,
          released,
          outboxKey: key,
          error: `delivery failed: ${message}`,
        };
      }
      await this.options.outbox.markSent(key, index + 1);
    }
    // Settled: nothing will send the staged files again.
    await discardStagedFiles(entry.parts, this.logger);
    return entry.disposition === 'answered'
      ? { type: 'settled', completed: entry.messageIds, deadLettered: [], released, outboxKey: key }
      : {
          type: 'settled',
          completed: [],
          deadLettered: entry.messageIds,
          released,
          outboxKey: key,
          error: 'attempts exhausted',
        };
  }

  /**
   * One part: sent, or on a channel that delivers by editing, edited into
   * the message recorded for it, which is first sent as a placeholder and
   * recorded if there is none yet (see the class comment for why).
   */
  private async deliverPart(
    key: string,
    entry: OutboxEntry,
    index: number,
    conversation: ConversationRef,
    fellBack = false,
  ): Promise<void> {
    const { channel, outbox } = this.options;
    const part = entry.parts[index] as OutgoingPart;
    // The channel cannot show the part as it is (Telegram without rich
    // messages): its fallback parts take its place, the first in its message.
    const fallBack = async () => {
      if (fellBack) throw new Error('the fallback of an answer part could not be shown either');
      await replaceWithFallback(channel, outbox, key, entry, index);
      await this.deliverPart(key, entry, index, conversation, true);
    };
    const replyTo = index === 0 ? entry.replyTo : undefined;
    const file = asOutgoingFile(part);
    if (file) {
      // No placeholder: a message cannot be edited into a file. A crash between
      // the upload and its tick sends the file twice, the one window left.
      if (channel.sendFile) {
        await channel.sendFile(conversation, part, { replyTo });
        return;
      }
      for (const notice of channel.formatPlain(this.texts.fileNotDelivered(file.name)))
        await channel.send(conversation, notice, { replyTo });
      return;
    }
    if (!deliversByEditing(channel)) {
      await channel.send(conversation, part, { replyTo });
      return;
    }
    const recorded = entry.partMessages[index];
    if (recorded !== undefined) {
      const outcome = await channel.editPart(conversation, recorded, part);
      if (outcome === 'edited') return;
      if (outcome === 'fallback') return fallBack();
      this.logger.warn('the message an answer part goes into is gone; sending it again', {
        conversationId: conversationId(conversation),
        part: index,
      });
    }
    const messageId = await channel.sendPlaceholder(conversation, { replyTo, part });
    await outbox.recordPartMessage(key, index, messageId);
    entry.partMessages[index] = messageId;
    const outcome = await channel.editPart(conversation, messageId, part);
    if (outcome === 'fallback') return fallBack();
    if (outcome === 'missing') {
      throw new Error('the placeholder was deleted before the answer was written into it');
    }
  }

  /** Out of attempts: tell the person once, then dead-letter the batch. */
  private async giveUp(
    key: string,
    batch: InboundMessage[],
    input: BatchInput,
    error: string,
    userMessage: string | undefined,
  ): Promise<BatchResult> {
    this.logger.error('giving up on messages', {
      conversationId: conversationId((batch[0] as InboundMessage).conversation),
      messages: batch.length,
      attempt: input.attempt,
      error,
    });
    await this.removeLeftoverStatus(key, (batch[0] as InboundMessage).conversation);
    const entry: OutboxEntry = {
      messageIds: batch.map((message) => message.id),
      parts: this.options.channel.formatPlain(userMessage ?? this.texts.failed),
      sent: 0,
      disposition: 'failed',
      replyTo: replyTarget(batch),
      partMessages: {},
    };
    await this.options.outbox.put(key, entry);
    // The failure notice gets one try of its own, whatever the attempt count.
    const result = await this.deliver(key, entry, { ...input, attempt: this.options.maxAttempts });
    return result.type === 'settled' ? { ...result, error: result.error ?? error } : result;
  }
}

/** In a group, answer as a reply to the last message, so it is clear whose message it answers. */
function replyTarget(batch: InboundMessage[]): string | undefined {
  const last = batch[batch.length - 1];
  return last?.chatType === 'group' ? last.messageId : undefined;
}
