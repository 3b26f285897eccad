import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import type { TurnAttachment } from './attachment.js';
import type { ConversationRef } from './conversation.js';
import { AgentError } from './errors.js';
import type { InboundMessage } from './inbound-message.js';
import type { StagedFile } from './outgoing-file.js';
import type { TurnInteraction } from './person-questions.js';

/** One agent turn asked of the runtime. */
export interface TurnRequest {
  conversation: ConversationRef;
  /** What the user said (several queued messages may be combined into one prompt). */
  prompt: string;
  /** Cancels the turn (`/stop`, a deadline, shutdown). */
  signal?: AbortSignal | undefined;
  /** Every SDK message as it arrives; progress display builds on this. */
  onMessage?: ((message: SDKMessage) => void) | undefined;
  /**
   * Files the person sent with the messages, downloaded to temporary paths:
   * the runtime moves them into the workspace's inbox/ and names them in the
   * prompt (photos also go to the model as images).
   */
  attachments?: TurnAttachment[] | undefined;
  /**
   * Asks the person in the chat and waits (AskUserQuestion, approvals of
   * tools set to `ask`); absent where nobody can be asked.
   */
  interaction?: TurnInteraction | undefined;
  /** The messages this turn answers, oldest first (a continuation is told apart by them). */
  messages?: readonly InboundMessage[] | undefined;
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
  /**
   * Files the agent sent (its send_file tool), staged for delivery after the
   * answer; only on a turn that is kept (a failed attempt's are discarded).
   */
  files?: StagedFile[] | undefined;
  /**
   * The turn was cut at a run's deadline and goes on in a continuation
   * queued on its lane: nothing to answer yet but `errorMessage`, if set
   * (the one notice that it is still working).
   */
  continued?: boolean | undefined;
  /**
   * Sentences for the person below whatever the turn ends with (the answer,
   * "Stopped.", a limit's notice), e.g. the workspace's files not kept: the
   * worker appends them for every outcome, as it does its own (media).
   */
  notices?: string[] | undefined;
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
