import type { ButtonAction } from '../domain/person-questions.js';

/**
 * The durable meeting point of a question and its answer: the worker running
 * the turn opens a question, the ingress records a button press or a text
 * answer, the worker sees it. One question per conversation at a time.
 * In the SQLite file locally (so a restart forgets no open question and no
 * grant); DynamoDB on AWS, where the press reaches the ingress Lambda while
 * the turn runs in a worker Lambda.
 *
 * A question's id is random and unguessable, and every press is matched to
 * the conversation of the chat it came from: a button's data cannot answer
 * another conversation's question.
 */

export interface OpenQuestion {
  /** Random, unguessable; carried in the buttons. */
  id: string;
  /** How many options (buttons) it has. */
  options: number;
  multiSelect: boolean;
  freeText: boolean;
  /** Epoch ms after which presses are stale. */
  expiresAt: number;
}

export type StoredAnswer = { kind: 'chosen'; indexes: number[] } | { kind: 'text'; text: string };

export interface QuestionState {
  /** Grows with every recorded press. */
  version: number;
  /** Options selected so far (multi-select), ascending. */
  selected: number[];
  answer: StoredAnswer | null;
}

/** What became of a press: recorded (and how), or stale (no such open question in this chat). */
export type PressResult = 'chosen' | 'selected' | 'unselected' | 'done' | 'stale';

/** What a press that fits its question records, and what it is reported as. */
export interface PressEffect {
  result: Exclude<PressResult, 'stale'>;
  change: { answer: StoredAnswer } | { selected: number[] };
}

/**
 * The rules of a press on an open question, for stores that read the
 * question before they write (the DynamoDB store states the same rules as
 * conditions of its writes): Done ends a multi-select question with what is
 * selected, an option answers a single-choice question or toggles on a
 * multi-select one; anything else (an option that does not exist, a button
 * of the other kind) is stale.
 */
export function pressEffect(
  question: Pick<OpenQuestion, 'options' | 'multiSelect'>,
  selected: readonly number[],
  action: ButtonAction,
): PressEffect | 'stale' {
  if (action.type === 'done') {
    if (!question.multiSelect) return 'stale';
    return { result: 'done', change: { answer: { kind: 'chosen', indexes: [...selected] } } };
  }
  const { index } = action;
  if (!Number.isInteger(index) || index < 0 || index >= question.options) return 'stale';
  if (action.type === 'choose') {
    if (question.multiSelect) return 'stale';
    return { result: 'chosen', change: { answer: { kind: 'chosen', indexes: [index] } } };
  }
  if (!question.multiSelect) return 'stale';
  const on = selected.includes(index);
  const next = on
    ? selected.filter((chosen) => chosen !== index)
    : [...selected, index].sort((a, b) => a - b);
  return { result: on ? 'unselected' : 'selected', change: { selected: next } };
}

/** The ingress's side: record what the person did. */
export interface QuestionAnswers {
  /**
   * Records a button press on question `questionId` of `conversationId`.
   * `pressId` (the update's id) makes a redelivered press count once.
   */
  press(
    conversationId: string,
    questionId: string,
    action: ButtonAction,
    pressId: string,
  ): Promise<PressResult>;
  /**
   * Records `text` as the answer to the conversation's open question, if it
   * takes free text and is not answered yet. True when it did (or had, for
   * this very `messageId`): the message is then not a new request.
   */
  answerText(conversationId: string, text: string, messageId: string): Promise<boolean>;
}

/** The worker's side, plus the conversation's "always" approvals. */
export interface QuestionStore extends QuestionAnswers {
  /** Opens `question`, replacing whatever question the conversation had. */
  open(conversationId: string, question: OpenQuestion): Promise<void>;
  /**
   * The question's state once its version is past `afterVersion`; the current
   * state when `signal` aborts first; null when the question is gone.
   */
  waitForChange(
    conversationId: string,
    questionId: string,
    afterVersion: number,
    signal: AbortSignal,
  ): Promise<QuestionState | null>;
  /** Closes the question: later presses are stale. */
  close(conversationId: string, questionId: string): Promise<void>;
  hasGrant(conversationId: string, key: string): Promise<boolean>;
  addGrant(conversationId: string, key: string): Promise<void>;
  /** Forgets the conversation's grants (`/new`). */
  clearGrants(conversationId: string): Promise<void>;
}
