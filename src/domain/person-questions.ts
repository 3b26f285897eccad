/**
 * Questions a running turn puts to the person in its chat, and their answers:
 * the agent's `AskUserQuestion`, and approvals of tool calls the policy marks
 * `ask`. The runtime asks through a TurnInteraction the pipeline hands it
 * with the turn; the channel shows buttons, and the press comes back through
 * ingress and a QuestionStore (in memory locally, DynamoDB on AWS).
 */

/** What a button does to its question. */
export type ButtonAction =
  /** Answers a single-choice question with this option. */
  | { type: 'choose'; index: number }
  /** Selects or unselects an option of a multi-select question. */
  | { type: 'toggle'; index: number }
  /** Ends a multi-select question with what is selected. */
  | { type: 'done' };

/** One question, as the person sees it. */
export interface PersonQuestion {
  /** The question's text (plain text). */
  text: string;
  /** The choices, one button each (at least one). */
  options: readonly string[];
  /** Several options may be chosen, then Done. */
  multiSelect: boolean;
  /** The person's next text message in the conversation answers it, too. */
  freeText: boolean;
}

export type PersonAnswer =
  | { kind: 'chosen'; indexes: number[] }
  | { kind: 'text'; text: string }
  /**
   * Nobody answered: `timeout` (the configured wait passed), `deadline` (the
   * worker's time is nearly up), `ended` (the turn was stopped meanwhile),
   * `unavailable` (the question could not be shown).
   */
  | { kind: 'unanswered'; reason: 'timeout' | 'deadline' | 'ended' | 'unavailable' };

export interface AskOptions {
  /** Ends the wait (the turn is stopped). */
  signal?: AbortSignal | undefined;
  /** Epoch ms after which the wait ends as `deadline`, if sooner than the timeout. */
  until?: number | undefined;
}

/**
 * How a running turn reaches the person in its chat and waits for them. The
 * pipeline makes one per turn; the runtime uses it without knowing the channel.
 */
export interface TurnInteraction {
  /** Shows the question and resolves with the answer, or with `unanswered`. Never rejects. */
  ask(question: PersonQuestion, options?: AskOptions): Promise<PersonAnswer>;
  /** Whether the person allowed `key` "always" in this conversation. */
  isGranted(key: string): Promise<boolean>;
  /** Remembers an "always" for this conversation (until `/new` or expiry). */
  grant(key: string): Promise<void>;
  /**
   * Forgets every "always" of this conversation: the runtime calls it when
   * the conversation has expired and starts afresh, as `/new` would.
   */
  forgetGrants?(): Promise<void>;
}
