import { createHash, randomBytes } from 'node:crypto';
import { type ConversationRef, conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import type {
  AskOptions,
  PersonAnswer,
  PersonQuestion,
  TurnInteraction,
} from '../../domain/person-questions.js';
import type {
  Channel,
  QuestionButton,
  QuestionChannel,
  QuestionMessage,
} from '../../ports/channel.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { QuestionState, QuestionStore } from '../../ports/question-store.js';
import { texts } from '../../texts/en.js';

/** How long a question waits for the person unless configured (QUESTION_TIMEOUT_MINUTES). */
export const DEFAULT_QUESTION_TIMEOUT_MS = 10 * 60 * 1000;

/** Telegram's limit on a message's text; a question is cut well before it. */
const MAX_QUESTION_CHARS = 3_500;
/** Telegram cuts longer button labels; cut them ourselves, visibly. */
const MAX_LABEL_CHARS = 60;

export interface TurnQuestionsOptions {
  channel: Channel & QuestionChannel;
  store: QuestionStore;
  conversation: ConversationRef;
  /** How long one question waits for an answer. */
  timeoutMs: number;
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
}

/**
 * One turn's way to ask the person in its chat: the question goes out with
 * buttons, is opened in the QuestionStore under a random id, and the turn
 * waits until the ingress records a press or a typed answer there, the
 * question times out, the deadline nears, or the turn is stopped. Questions
 * of one turn are asked one at a time (the store holds one per
 * conversation), in the order they were asked.
 */
export class TurnQuestions implements TurnInteraction {
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly id: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: TurnQuestionsOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.id = conversationId(options.conversation);
  }

  ask(question: PersonQuestion, options: AskOptions = {}): Promise<PersonAnswer> {
    const asked = this.queue.then(() => this.askNow(question, options));
    this.queue = asked.catch(() => {});
    return asked;
  }

  isGranted(key: string): Promise<boolean> {
    return this.options.store.hasGrant(this.id, grantKey(key));
  }

  grant(key: string): Promise<void> {
    return this.options.store.addGrant(this.id, grantKey(key));
  }

  forgetGrants(): Promise<void> {
    return this.options.store.clearGrants(this.id);
  }

  private async askNow(question: PersonQuestion, options: AskOptions): Promise<PersonAnswer> {
    const { channel, store, conversation } = this.options;
    const { signal, until } = options;
    if (signal?.aborted) return unanswered('ended');
    const startedAt = this.now();
    const timeoutAt = startedAt + this.options.timeoutMs;
    const endsAt = Math.min(timeoutAt, until ?? Number.POSITIVE_INFINITY);
    const endReason = endsAt < timeoutAt ? 'deadline' : 'timeout';
    if (endsAt <= startedAt) return unanswered(endReason);

    const questionId = randomBytes(16).toString('base64url');
    let messageId: string;
    try {
      await store.open(this.id, {
        id: questionId,
        options: question.options.length,
        multiSelect: question.multiSelect,
        freeText: question.freeText,
        expiresAt: endsAt,
      });
      messageId = await channel.sendQuestion(conversation, message(questionId, question, []));
    } catch (error) {
      this.logger.warn('could not ask the person', {
        conversationId: this.id,
        error: errorMessage(error),
      });
      await store.close(this.id, questionId).catch(() => {});
      return unanswered('unavailable');
    }
    this.logger.info('asked the person; waiting', { conversationId: this.id, questionId });

    const wait = new AbortController();
    const timer = setTimeout(() => wait.abort(), endsAt - startedAt);
    const onAbort = () => wait.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let answer: PersonAnswer;
    try {
      answer = await this.waitForAnswer(questionId, messageId, question, wait.signal);
      if (answer.kind === 'unanswered' && answer.reason === 'timeout') {
        answer = unanswered(signal?.aborted ? 'ended' : endReason);
      }
    } catch (error) {
      this.logger.warn('waiting for an answer failed', {
        conversationId: this.id,
        error: errorMessage(error),
      });
      answer = unanswered('unavailable');
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    this.logger.info('question settled', {
      conversationId: this.id,
      questionId,
      answer: answer.kind === 'unanswered' ? answer.reason : answer.kind,
    });
    await store.close(this.id, questionId).catch((error: unknown) => {
      this.logger.warn('could not close a question', { error: errorMessage(error) });
    });
    await channel
      .closeQuestion(conversation, messageId, closingText(question, answer))
      .catch((error: unknown) => {
        this.logger.debug('could not take the buttons off a question', {
          error: errorMessage(error),
        });
      });
    return answer;
  }

  /** Resolves with the answer, or `unanswered: timeout` when `signal` ends the wait. */
  private async waitForAnswer(
    questionId: string,
    messageId: string,
    question: PersonQuestion,
    signal: AbortSignal,
  ): Promise<PersonAnswer> {
    let seen: QuestionState = { version: 0, selected: [], answer: null };
    for (;;) {
      const state = await this.options.store.waitForChange(
        this.id,
        questionId,
        seen.version,
        signal,
      );
      // Replaced or closed elsewhere: nobody will answer this one.
      if (!state) return unanswered('ended');
      const { answer } = state;
      if (answer?.kind === 'text') return { kind: 'text', text: answer.text };
      if (answer?.kind === 'chosen') return { kind: 'chosen', indexes: [...answer.indexes] };
      if (signal.aborted) return unanswered('timeout');
      if (state.selected.join() !== seen.selected.join()) {
        await this.options.channel
          .editQuestion(
            this.options.conversation,
            messageId,
            message(questionId, question, state.selected),
          )
          .catch((error: unknown) => {
            this.logger.debug('could not show the selection', { error: errorMessage(error) });
          });
      }
      seen = state;
    }
  }
}

function unanswered(reason: Extract<PersonAnswer, { kind: 'unanswered' }>['reason']): PersonAnswer {
  return { kind: 'unanswered', reason };
}

/** "Always" keys can be long (a whole command): the store keeps a digest. */
function grantKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function message(
  questionId: string,
  question: PersonQuestion,
  selected: readonly number[],
): QuestionMessage {
  const hint = question.multiSelect
    ? texts.questions.multiHint
    : question.freeText
      ? texts.questions.typeHint
      : undefined;
  const buttons: QuestionButton[][] = question.options.map((option, index) => {
    const label = cut(option, MAX_LABEL_CHARS);
    return [
      question.multiSelect
        ? {
            label: selected.includes(index) ? texts.questions.selected(label) : label,
            action: { type: 'toggle', index },
          }
        : { label, action: { type: 'choose', index } },
    ];
  });
  if (question.multiSelect)
    buttons.push([{ label: texts.questions.done, action: { type: 'done' } }]);
  const text = cut(question.text, MAX_QUESTION_CHARS);
  return { questionId, text: hint ? `${text}\n\n${hint}` : text, buttons };
}

function closingText(question: PersonQuestion, answer: PersonAnswer): string {
  const text = cut(question.text, MAX_QUESTION_CHARS);
  switch (answer.kind) {
    case 'unanswered':
      return texts.questions.unanswered(text);
    case 'text':
      return texts.questions.answered(text, cut(answer.text, 500));
    case 'chosen': {
      const labels = answer.indexes.map((index) => question.options[index] ?? '?');
      return texts.questions.answered(
        text,
        labels.length > 0 ? labels.join(', ') : texts.questions.nothingChosen,
      );
    }
  }
}

/** `interaction`, with every wait ended by `until` (epoch ms) at the latest. */
export function boundedBy(interaction: TurnInteraction, until: number): TurnInteraction {
  return {
    ask: (question, options = {}) =>
      interaction.ask(question, { ...options, until: Math.min(options.until ?? until, until) }),
    isGranted: (key) => interaction.isGranted(key),
    grant: (key) => interaction.grant(key),
    // Optional, so easy to lose here: without it an expired conversation keeps its "always" approvals.
    forgetGrants: async () => {
      await interaction.forgetGrants?.();
    },
  };
}
