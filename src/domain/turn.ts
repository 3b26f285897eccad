import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import type { ConversationRef } from './conversation.js';
import { AgentError } from './errors.js';

/** One agent turn asked of the runtime. */
export interface TurnRequest {
  conversation: ConversationRef;
  /** What the user said (several queued messages may be combined into one prompt). */
  prompt: string;
  /** Cancels the turn (`/stop`, a deadline, shutdown). */
  signal?: AbortSignal | undefined;
  /** Every SDK message as it arrives; progress display builds on this. */
  onMessage?: ((message: SDKMessage) => void) | undefined;
}

/**
 * How a turn ended. Anything but `success` comes with a user-facing explanation.
 * `model_unavailable`: the model stayed silent or kept failing; the person is
 * told at once and the turn is not retried (another try would wait as long again).
 */
export type TurnOutcome =
  | 'success'
  | 'cancelled'
  | 'max_turns'
  | 'budget_exceeded'
  | 'model_unavailable'
  | 'error';

export interface TurnResult {
  outcome: TurnOutcome;
  /** The agent's final answer (may be empty when the turn did not succeed). */
  text: string;
  /** Session the turn ran in (resumed or newly started). */
  sessionId: string | null;
  /** True when this turn started a new session (first turn, after /new or expiry). */
  startedSession: boolean;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  durationMs: number;
  /** For outcomes other than success: a short message fit to show the user. */
  errorMessage?: string | undefined;
}

/**
 * The abort reason of a turn abandoned without being settled (the service is
 * shutting down): its messages go back to the queue and run again, so the
 * runtime keeps nothing of it, as of a failed attempt. Any other abort (`/stop`,
 * a deadline) settles the turn and is kept.
 */
export class TurnAbandoned extends AgentError {
  static override readonly errorName: string = 'TurnAbandoned';
}
