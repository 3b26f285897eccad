/**
 * How long one task may run. On AWS a run is one worker invocation (at most
 * Lambda's 15 minutes); a task cut at a run's deadline goes on in up to
 * MAX_CONTINUATIONS more runs (src/core/pipeline/continuation.ts). Locally a
 * turn runs without interruption, so the same allowance is its wall time:
 * TURN_TIME_LIMIT_MINUTES defaults to what AWS would allow in all.
 */

/** Continuations a task may take after its first run (MAX_CONTINUATIONS). */
export const DEFAULT_MAX_CONTINUATIONS = 3;

/** The longest one run takes on AWS: the worker Lambda's limit. */
export const RUN_LIMIT_MS = 15 * 60_000;

/** The wall time of a task of `1 + maxContinuations` runs: the default turn time limit. */
export function taskTimeLimitMs(maxContinuations: number): number {
  return RUN_LIMIT_MS * (1 + maxContinuations);
}
