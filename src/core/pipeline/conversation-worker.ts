import { conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import { stagedFilePart } from '../../domain/outgoing-file.js';
import type { Channel, OutgoingPart } from '../../ports/channel.js';
import type { ConversationIndex } from '../../ports/conversation-index.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { QuestionStore } from '../../ports/question-store.js';
import type { OutboxEntry, ReplyOutbox } from '../../ports/reply-outbox.js';
import type { TurnControl } from '../../ports/turn-control.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { type Texts, texts } from '../../texts/en.js';
import { AnswerDelivery } from './answer-delivery.js';
import { DEFAULT_DRAFTS, type DraftSettings } from './answer-draft.js';
import { type Answer, type BatchInput, type BatchResult, TurnFailedError } from './batch.js';
import { ControlCommands } from './control-commands.js';
import type { MediaSettings } from './inbound-media.js';
import { DEFAULT_PROGRESS, type ProgressSettings } from './progress-message.js';
import { type RecordedStatusOptions, removeLeftoverStatus } from './recorded-status.js';
import { TurnExecution } from './turn-execution.js';

export { type BatchInput, type BatchResult, TurnFailedError } from './batch.js';

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
 * How each part is then shown exactly once: answer-delivery.ts. The status
 * message is recorded as soon as it is sent, too (recorded-status.ts), so a
 * later attempt reuses it (a retried turn) or deletes it (a redelivered
 * answer, a batch given up) instead of leaving "Working on it…" in the chat.
 *
 * The parts: control-commands.ts answers the control lane, turn-execution.ts
 * runs a turn, answer-delivery.ts sends what the outbox holds.
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

export class ConversationWorker {
  private readonly texts: WorkerTexts;
  private readonly logger: Logger;
  private readonly status: RecordedStatusOptions;
  private readonly delivery: AnswerDelivery;
  private readonly control: ControlCommands;
  private readonly turn: TurnExecution;

  constructor(private readonly options: ConversationWorkerOptions) {
    this.texts = { ...DEFAULT_TEXTS, ...options.texts };
    this.logger = options.logger ?? silentLogger;
    const now = options.now ?? Date.now;
    const progress =
      options.progress === false ? undefined : { ...DEFAULT_PROGRESS, ...options.progress };
    const drafts = options.drafts === false ? undefined : { ...DEFAULT_DRAFTS, ...options.drafts };
    const { channel, outbox } = options;
    const shared = { channel, outbox, texts: this.texts, logger: this.logger };
    this.status = { ...shared, progress };
    this.delivery = new AnswerDelivery({ ...shared, maxAttempts: options.maxAttempts });
    this.control = new ControlCommands({
      conversations: options.conversations,
      turns: options.turns,
      texts: this.texts,
      logger: this.logger,
      now,
    });
    this.turn = new TurnExecution({
      ...shared,
      runner: options.runner,
      turns: options.turns,
      now,
      typingIntervalMs: options.typingIntervalMs ?? 4_000,
      progress,
      drafts,
      media: options.media,
      questions: options.questions,
    });
  }

  async handle(input: BatchInput): Promise<BatchResult> {
    const [head] = input.messages;
    if (!head) throw new Error('handle() needs at least one message');
    const key = head.id;

    const pending = await this.options.outbox.get(key);
    if (pending) {
      // The attempt that saved this answer may have died before its status message went.
      await removeLeftoverStatus(key, head.conversation, this.status);
      return this.delivery.deliver(key, pending, input);
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
        input.kind === 'control'
          ? await this.control.answer(head)
          : await this.turn.run(key, batch, input);
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
    return this.delivery.deliver(key, entry, input);
  }

  private format(answer: Answer): OutgoingPart[] {
    const { channel } = this.options;
    return answer.format === 'markdown'
      ? channel.formatMarkdown(answer.text)
      : channel.formatPlain(answer.text);
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
    await removeLeftoverStatus(key, (batch[0] as InboundMessage).conversation, this.status);
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
    const result = await this.delivery.deliver(key, entry, {
      ...input,
      attempt: this.options.maxAttempts,
    });
    return result.type === 'settled' ? { ...result, error: result.error ?? error } : result;
  }
}

/** In a group, answer as a reply to the last message, so it is clear whose message it answers. */
function replyTarget(batch: InboundMessage[]): string | undefined {
  const last = batch[batch.length - 1];
  return last?.chatType === 'group' ? last.messageId : undefined;
}
