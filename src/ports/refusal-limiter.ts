/**
 * How often someone the access policy does not admit is told so. Answering
 * every message of a stranger turns the bot into a free amplifier (40
 * messages, 40 answers); one refusal, then silence for a while, is enough to
 * tell a person who should be let in what to pass on to the operator.
 */
export interface RefusalLimiter {
  /**
   * Claims the right to answer `key` (a person) with a refusal now: true the
   * first time, and again once `quietMs` have passed since the last claim;
   * false in between.
   */
  claim(key: string): Promise<boolean>;
}

/** How long a refused person hears nothing more after a refusal. */
export const REFUSAL_QUIET_MS = 60 * 60 * 1000;
