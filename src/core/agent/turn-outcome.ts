import type { SDKAssistantMessageError, SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import type { TurnOutcome } from '../../domain/turn.js';
import type { ConversationRecord } from '../../ports/conversation-index.js';
import { texts } from '../../texts/en.js';
import type { ModelHealth } from './model-gateway.js';

/** How a turn ended, from the SDK's result message (absent when Claude Code died first). */
export function outcomeOf(result: SDKResultMessage | undefined, aborted: boolean): TurnOutcome {
  if (aborted) return 'cancelled';
  // The SDK throws after yielding an error result; the result says more than the throw.
  if (!result) return 'error';
  switch (result.subtype) {
    case 'success':
      // A turn that ended on a model API error is reported as `success` with
      // `is_error` set and the error text as its result: not an answer.
      return result.is_error ? 'error' : 'success';
    case 'error_max_turns':
      return 'max_turns';
    case 'error_max_budget_usd':
      return 'budget_exceeded';
    default:
      return 'error';
  }
}

/**
 * The SDK's `total_cost_usd` on a resumed session continues from the total the
 * transcript saved, so this turn's cost is the difference from the session's
 * total recorded after the previous turn — never negative.
 */
export function turnCost(
  result: SDKResultMessage | undefined,
  record: ConversationRecord | null,
): number {
  if (!result) return 0;
  const total = result.total_cost_usd;
  const previous = record?.sessionId ? record.sessionCostUsd : 0;
  return total >= previous ? total - previous : total;
}

export function userMessageFor(outcome: TurnOutcome): string | undefined {
  switch (outcome) {
    case 'success':
      return undefined;
    case 'cancelled':
      return texts.stopped;
    case 'max_turns':
      return texts.maxTurns;
    case 'budget_exceeded':
      return texts.turnBudgetSpent;
    case 'model_unavailable':
      return texts.modelUnavailable;
    case 'error':
      return texts.turnError;
  }
}

/** The API errors that mean the model is not serving, rather than that the request was wrong. */
const UNAVAILABLE_ERRORS: ReadonlySet<SDKAssistantMessageError> = new Set([
  'overloaded',
  'server_error',
  'rate_limit',
]);

/**
 * Whether a failed turn failed because the model did not serve it: its last
 * model call went silent or failed at the gateway, or Claude Code ended on an
 * overload or server error.
 */
export function modelWasUnavailable(
  health: ModelHealth,
  lastApiError: SDKAssistantMessageError | undefined,
): boolean {
  if (health.calls > 0 && health.lastFailed) return true;
  return lastApiError !== undefined && UNAVAILABLE_ERRORS.has(lastApiError);
}
