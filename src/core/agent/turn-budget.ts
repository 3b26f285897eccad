import type { AgentPolicy } from '../../config/agent-config.js';
import { type ConversationRecord, utcDay } from '../../ports/conversation-index.js';

/**
 * What a turn may spend: the per-turn budget, or what is left of the
 * conversation's daily budget if that is less (`dailyBinds`). Zero or less
 * means the day's budget is spent and the turn must not start.
 */
export function turnBudget(
  policy: AgentPolicy,
  record: ConversationRecord | null,
  now: number,
): { usd: number; dailyBinds: boolean } {
  const spentToday = record?.costDay === utcDay(now) ? record.costDayUsd : 0;
  const dailyLeft = policy.maxBudgetUsdPerConversationPerDay - spentToday;
  return dailyLeft < policy.maxBudgetUsdPerTurn
    ? { usd: dailyLeft, dailyBinds: true }
    : { usd: policy.maxBudgetUsdPerTurn, dailyBinds: false };
}
