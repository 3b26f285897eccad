import { z } from 'zod';
import { type Env, parseEnv, wholeNumber } from './env-values.js';

/** How long a question to the person waits, unless QUESTION_TIMEOUT_MINUTES says otherwise. */
const DEFAULT_QUESTION_TIMEOUT_MINUTES = 10;

const schema = z.object({
  /** Minutes a question (AskUserQuestion, an approval) waits for the person: 1 to 1440. */
  QUESTION_TIMEOUT_MINUTES: wholeNumber(1, 1440),
});

/**
 * The settings of questions to the person, read by both deployments. A bad
 * value throws a SettingsError naming the variable.
 */
export function loadQuestionSettings(env: Env): { timeoutMs: number } {
  const values = parseEnv(schema, env);
  const minutes = values.QUESTION_TIMEOUT_MINUTES ?? DEFAULT_QUESTION_TIMEOUT_MINUTES;
  return { timeoutMs: minutes * 60_000 };
}
