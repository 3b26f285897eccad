import { type ConversationRef, conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import { type InboundMessage, promptFor } from '../../domain/inbound-message.js';
import { asksWithButtons, type Channel } from '../../ports/channel.js';
import type { Logger } from '../../ports/logger.js';
import type { QuestionStore } from '../../ports/question-store.js';
import type { ReplyOutbox } from '../../ports/reply-outbox.js';
import type { TurnControl } from '../../ports/turn-control.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import type { Texts } from '../../texts/en.js';
import { AnswerDraft, type DraftSettings, showsDrafts } from './answer-draft.js';
import { type Answer, type BatchInput, TurnFailedError } from './batch.js';
import {
  DEFAULT_MAX_DOWNLOAD_BYTES,
  type MediaSettings,
  type PreparedMedia,
  prepareInboundMedia,
  withNotices,
} from './inbound-media.js';
import type { ProgressMessage, ProgressSettings } from './progress-message.js';
import { recordedStatusMessage } from './recorded-status.js';
import { DEFAULT_QUESTION_TIMEOUT_MS, TurnQuestions } from './turn-questions.js';

export interface TurnExecutionOptions {
  runner: TurnRunner;
  channel: Channel;
  outbox: ReplyOutbox;
  turns: TurnControl;
  texts: Pick<
    Texts,
    'newSession' | 'stopped' | 'emptyAnswer' | 'failed' | 'working' | 'workingDone'
  >;
  logger: Logger;
  now: () => number;
  typingIntervalMs: number;
  /** Undefined when the status message is turned off. */
  progress: ProgressSettings | undefined;
  /** Undefined when drafts are turned off. */
  drafts: DraftSettings | undefined;
  media: Partial<MediaSettings> | undefined;
  questions: { store: QuestionStore; timeoutMs?: number | undefined } | undefined;
}

/**
 * One turn of the turn lane: `/new`, or the agent on the batch's messages
 * with what goes around it while it runs (the typing indicator, the status
 * message or the answer's draft, the person's files downloaded, questions
 * with buttons), ending in the answer to deliver.
 */
export class TurnExecution {
  constructor(private readonly options: TurnExecutionOptions) {}

  /** The answer; null for none; 'released' when shutdown abandoned the turn. */
  async run(
    key: string,
    messages: InboundMessage[],
    input: BatchInput,
  ): Promise<Answer | null | 'released'> {
    const { texts, logger } = this.options;
    const head = messages[0] as InboundMessage;
    const conversation = head.conversation;
    if (head.body.kind === 'command' && head.body.command === 'new') {
      await this.options.runner.resetConversation(conversation);
      await this.options.questions?.store.clearGrants(conversationId(conversation));
      return { text: texts.newSession, format: 'plain' };
    }

    const id = conversationId(conversation);
    const running = this.options.turns.begin(id);
    const signal = input.shutdown
      ? AbortSignal.any([running.signal, input.shutdown])
      : running.signal;
    const stopTyping = this.keepTyping(head);
    const progress = await recordedStatusMessage(key, conversation, this.options);
    const draft = this.answerDraft(head, progress);
    if (!draft) progress?.start();
    const startedAt = this.options.now();
    let media: PreparedMedia | undefined;
    try {
      try {
        media = await prepareInboundMedia(messages, {
          channel: this.options.channel,
          settings: { maxDownloadBytes: DEFAULT_MAX_DOWNLOAD_BYTES, ...this.options.media },
          logger,
          signal,
          onStep: (line) => {
            progress?.note(line);
            draft?.note(line);
          },
        });
      } catch (error) {
        // A /stop while a file downloads: stopped, like a turn.
        if (running.signal.aborted && !input.shutdown?.aborted)
          return { text: texts.stopped, format: 'plain' };
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
      logger.info('turn finished', {
        conversationId: id,
        messages: messages.length,
        outcome: result.outcome,
        durationMs: this.options.now() - startedAt,
        costUsd: result.costUsd,
      });
      // Shutdown, not /stop: leave the messages for the next start.
      if (input.shutdown?.aborted && !running.signal.aborted) return 'released';
      // Below whatever the turn ends with: "Stopped." does not make them untrue.
      const notices = [...media.notices, ...(result.notices ?? [])];
      // Goes on in a continuation (see continuation.ts): at most a notice now.
      if (result.continued) {
        const text = withNotices(result.errorMessage ?? '', notices);
        // The files the cut run sent go now: the continuation stages its own.
        return text || result.files?.length ? { text, format: 'plain', files: result.files } : null;
      }
      switch (result.outcome) {
        case 'success':
          return {
            text: withNotices(result.text.trim() || texts.emptyAnswer, notices),
            format: 'markdown',
            files: result.files,
          };
        case 'cancelled':
          return {
            text: withNotices(texts.stopped, notices),
            format: 'plain',
            files: result.files,
          };
        case 'max_turns':
        case 'budget_exceeded':
        case 'model_unavailable':
          return {
            text: withNotices(result.errorMessage ?? texts.failed, notices),
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
      logger: this.options.logger,
      now: this.options.now,
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
    const { channel, drafts } = this.options;
    if (!drafts || head.chatType !== 'private' || !showsDrafts(channel)) return undefined;
    return new AnswerDraft({
      channel,
      conversation: head.conversation,
      settings: drafts,
      logger: this.options.logger,
      onUnavailable: () => progress?.start(),
    });
  }

  /** Show "typing…" now and keep renewing it until the returned function is called. */
  private keepTyping(message: InboundMessage): () => void {
    const show = () => {
      this.options.channel.showTyping(message.conversation).catch((error: unknown) => {
        this.options.logger.debug('typing indicator failed', { error: errorMessage(error) });
      });
    };
    show();
    const timer = setInterval(show, this.options.typingIntervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }
}
