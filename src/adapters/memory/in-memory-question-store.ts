import type { ButtonAction } from '../../domain/person-questions.js';
import { Wakeups } from '../../lib/wakeups.js';
import {
  type OpenQuestion,
  type PressResult,
  pressEffect,
  type QuestionState,
  type QuestionStore,
} from '../../ports/question-store.js';

interface Entry {
  question: OpenQuestion;
  state: QuestionState;
  lastPress: string | undefined;
  answeredBy: string | undefined;
}

/**
 * Questions for one process whose state may go with it (tests, embedding):
 * the bot that takes the press and the worker running the turn share memory.
 * A waiting turn is woken at once. "Always" approvals last as long as the
 * process. The local server keeps them in SQLite (SqliteQuestionStore).
 */
export class InMemoryQuestionStore implements QuestionStore {
  private readonly questions = new Map<string, Entry>();
  private readonly grants = new Map<string, Set<string>>();
  private readonly wakeups = new Wakeups();

  constructor(private readonly now: () => number = Date.now) {}

  async open(conversationId: string, question: OpenQuestion): Promise<void> {
    this.questions.set(conversationId, {
      question,
      state: { version: 0, selected: [], answer: null },
      lastPress: undefined,
      answeredBy: undefined,
    });
    this.wakeups.wake();
  }

  async press(
    conversationId: string,
    questionId: string,
    action: ButtonAction,
    pressId: string,
  ): Promise<PressResult> {
    const entry = this.openEntry(conversationId, questionId);
    if (!entry || entry.lastPress === pressId) return 'stale';
    const effect = pressEffect(entry.question, entry.state.selected, action);
    if (effect === 'stale') return 'stale';
    this.update(entry, pressId, effect.change);
    return effect.result;
  }

  async answerText(conversationId: string, text: string, messageId: string): Promise<boolean> {
    const entry = this.questions.get(conversationId);
    if (!entry?.question.freeText) return false;
    if (entry.answeredBy === messageId) return true;
    if (entry.state.answer || entry.question.expiresAt <= this.now()) return false;
    entry.answeredBy = messageId;
    this.update(entry, undefined, { answer: { kind: 'text', text } });
    return true;
  }

  async waitForChange(
    conversationId: string,
    questionId: string,
    afterVersion: number,
    signal: AbortSignal,
  ): Promise<QuestionState | null> {
    for (;;) {
      const entry = this.questions.get(conversationId);
      if (!entry || entry.question.id !== questionId) return null;
      if (entry.state.version > afterVersion || signal.aborted) return copy(entry.state);
      await this.wakeups.next(signal);
    }
  }

  async close(conversationId: string, questionId: string): Promise<void> {
    if (this.questions.get(conversationId)?.question.id !== questionId) return;
    this.questions.delete(conversationId);
    this.wakeups.wake();
  }

  async hasGrant(conversationId: string, key: string): Promise<boolean> {
    return this.grants.get(conversationId)?.has(key) ?? false;
  }

  async addGrant(conversationId: string, key: string): Promise<void> {
    const keys = this.grants.get(conversationId) ?? new Set<string>();
    keys.add(key);
    this.grants.set(conversationId, keys);
  }

  async clearGrants(conversationId: string): Promise<void> {
    this.grants.delete(conversationId);
  }

  private openEntry(conversationId: string, questionId: string): Entry | undefined {
    const entry = this.questions.get(conversationId);
    if (!entry || entry.question.id !== questionId) return undefined;
    if (entry.state.answer || entry.question.expiresAt <= this.now()) return undefined;
    return entry;
  }

  private update(entry: Entry, pressId: string | undefined, change: Partial<QuestionState>): void {
    entry.state = { ...entry.state, ...change, version: entry.state.version + 1 };
    if (pressId !== undefined) entry.lastPress = pressId;
    this.wakeups.wake();
  }
}

function copy(state: QuestionState): QuestionState {
  return { ...state, selected: [...state.selected] };
}
