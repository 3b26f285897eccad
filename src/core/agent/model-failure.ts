/**
 * How long a person may be left waiting on a model that is silent or
 * failing, and how many requests one message may cost meanwhile.
 *
 * Left alone, Claude Code waits up to five minutes on a silent stream and
 * retries a failing model ten times with backoff, and the queue then runs
 * the whole turn again twice: about ten minutes and three dozen upstream
 * requests before the person hears anything. Here the gateway cuts a silent
 * model off (first-byte and idle timeouts), Claude Code retries a bounded
 * number of times, and a turn the model failed is answered at once with
 * texts.modelUnavailable rather than retried by the queue.
 */
export interface ModelFailureSettings {
  /**
   * The person hears within about this long of the model going silent or
   * failing; the timeouts below default to what fits in it.
   */
  noticeWithinMs: number;
  /** Claude Code's own retries of a failed model request (`CLAUDE_CODE_MAX_RETRIES`). */
  maxRetries: number;
  /** How long the gateway waits for the start of an answer (headers and first chunk). */
  firstByteTimeoutMs: number;
  /** How long the gateway waits between two chunks of an answer. */
  idleTimeoutMs: number;
  /** The longest a turn may run, whatever it is doing; then it stops like a /stop and says why. */
  turnTimeLimitMs: number;
}

/** Room for Claude Code's backoff between its retries (500 ms doubling, with jitter). */
const BACKOFF_ALLOWANCE_MS = 5_000;

export const DEFAULT_NOTICE_WITHIN_MS = 120_000;
export const DEFAULT_MAX_RETRIES = 1;
export const DEFAULT_TURN_TIME_LIMIT_MS = 15 * 60_000;

/**
 * The settings with defaults filled in. The timeouts share `noticeWithinMs`
 * among the model requests a silent model can cost (modelRequestsPerTurn):
 * with the defaults, 38 s each.
 */
export function modelFailureSettings(
  overrides: Partial<ModelFailureSettings> = {},
): ModelFailureSettings {
  const noticeWithinMs = overrides.noticeWithinMs ?? DEFAULT_NOTICE_WITHIN_MS;
  const maxRetries = overrides.maxRetries ?? DEFAULT_MAX_RETRIES;
  const perTry = Math.max(
    1_000,
    Math.floor((noticeWithinMs - BACKOFF_ALLOWANCE_MS) / modelRequestsPerTurn(maxRetries)),
  );
  return {
    noticeWithinMs,
    maxRetries,
    firstByteTimeoutMs: overrides.firstByteTimeoutMs ?? perTry,
    idleTimeoutMs: overrides.idleTimeoutMs ?? perTry,
    turnTimeLimitMs: overrides.turnTimeLimitMs ?? DEFAULT_TURN_TIME_LIMIT_MS,
  };
}

/**
 * The most model requests one message costs when the model only fails:
 * Claude Code's first try, its retries, and once a stream broke off, one
 * more try without streaming (measured with the scripted model: 2 requests
 * for a model that is silent from the start or answers 500, 3 for one that
 * breaks off mid-answer, with one retry). The queue does not run such a turn
 * again (outcome `model_unavailable`).
 */
export function failedTurnRequestBound(overrides: Partial<ModelFailureSettings> = {}): number {
  return modelRequestsPerTurn(overrides.maxRetries ?? DEFAULT_MAX_RETRIES);
}

function modelRequestsPerTurn(maxRetries: number): number {
  return maxRetries + 2;
}
