import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_MAX_CONTINUATIONS, taskTimeLimitMs } from '../domain/continuation-limits.js';
import { DEFAULT_SESSION_TTL_MS } from '../domain/conversation.js';
import { type Env, httpUrl, optionalText, parseEnv } from './env-values.js';
import { type SettingIssue, SettingsError } from './settings-error.js';

export type { Env } from './env-values.js';

/** Where the model is, as the operator configured it. */
export type ModelSettings = (
  | { provider: 'anthropic'; apiKey: string; baseUrl: string | undefined }
  | { provider: 'bedrock'; region: string }
) & {
  /** Claude Code's small fast model (ANTHROPIC_DEFAULT_HAIKU_MODEL); unset: Claude Code's choice. */
  smallFastModel?: string | undefined;
};

/** Settings every deployment of the agent runtime needs (chat, bot, Lambda). */
export interface RuntimeSettings {
  dataDir: string;
  agentDir: string;
  model: string | undefined;
  modelAccess: ModelSettings;
  sessionTtlMs: number;
  /** Bounds on a silent or failing model and a turn's time; unset ones take the runtime's defaults. */
  modelFailure: {
    noticeWithinMs?: number | undefined;
    maxRetries?: number | undefined;
    turnTimeLimitMs?: number | undefined;
  };
  /**
   * How many times a task cut at a run's deadline goes on in a new run (AWS;
   * MAX_CONTINUATIONS). Locally it sets the default turn time limit.
   */
  maxContinuations: number;
}

const positiveNumber = (what: string) =>
  optionalText.pipe(z.coerce.number<string | undefined>().positive(what).optional());

const schema = z.object({
  DATA_DIR: optionalText,
  AGENT_DIR: optionalText,
  ANTHROPIC_MODEL: optionalText,
  ANTHROPIC_DEFAULT_HAIKU_MODEL: optionalText,
  /** The older name Claude Code still reads; ANTHROPIC_DEFAULT_HAIKU_MODEL wins. */
  ANTHROPIC_SMALL_FAST_MODEL: optionalText,
  ANTHROPIC_API_KEY: optionalText,
  ANTHROPIC_BASE_URL: httpUrl,
  CLAUDE_CODE_USE_BEDROCK: optionalText.pipe(z.enum(['0', '1', 'true', 'false']).optional()),
  AWS_REGION: optionalText,
  SESSION_TTL_DAYS: positiveNumber('expected a positive number of days'),
  MODEL_NOTICE_SECONDS: positiveNumber('expected a positive number of seconds'),
  MODEL_MAX_RETRIES: optionalText.pipe(
    z.coerce.number<string | undefined>().int().min(0).max(10, 'expected 0 to 10').optional(),
  ),
  TURN_TIME_LIMIT_MINUTES: positiveNumber('expected a positive number of minutes'),
  MAX_CONTINUATIONS: optionalText.pipe(
    z.coerce.number<string | undefined>().int().min(0).max(20, 'expected 0 to 20').optional(),
  ),
});

/**
 * Reads the runtime's settings from an environment object. Every problem is
 * collected and thrown as one SettingsError naming each variable.
 */
export function loadRuntimeSettings(env: Env, cwd = process.cwd()): RuntimeSettings {
  const values = parseEnv(schema, env);
  const issues: SettingIssue[] = [];
  const bedrock =
    values.CLAUDE_CODE_USE_BEDROCK === '1' || values.CLAUDE_CODE_USE_BEDROCK === 'true';
  let modelAccess: ModelSettings | undefined;
  const smallFastModel = values.ANTHROPIC_DEFAULT_HAIKU_MODEL ?? values.ANTHROPIC_SMALL_FAST_MODEL;
  if (bedrock) {
    if (!values.AWS_REGION)
      issues.push({ name: 'AWS_REGION', message: 'required when CLAUDE_CODE_USE_BEDROCK is set' });
    else modelAccess = { provider: 'bedrock', region: values.AWS_REGION, smallFastModel };
  } else if (!values.ANTHROPIC_API_KEY) {
    issues.push({
      name: 'ANTHROPIC_API_KEY',
      message:
        'required to reach the model (or set CLAUDE_CODE_USE_BEDROCK=1 and AWS_REGION to use Amazon Bedrock)',
    });
  } else {
    modelAccess = {
      provider: 'anthropic',
      apiKey: values.ANTHROPIC_API_KEY,
      baseUrl: values.ANTHROPIC_BASE_URL,
      smallFastModel,
    };
  }
  if (issues.length > 0 || !modelAccess) throw new SettingsError(issues);
  const maxContinuations = values.MAX_CONTINUATIONS ?? DEFAULT_MAX_CONTINUATIONS;
  return {
    dataDir: path.resolve(cwd, values.DATA_DIR ?? 'data'),
    agentDir: path.resolve(cwd, values.AGENT_DIR ?? 'agent'),
    model: values.ANTHROPIC_MODEL,
    modelAccess,
    sessionTtlMs: values.SESSION_TTL_DAYS
      ? values.SESSION_TTL_DAYS * 24 * 60 * 60 * 1000
      : DEFAULT_SESSION_TTL_MS,
    modelFailure: {
      noticeWithinMs: values.MODEL_NOTICE_SECONDS && values.MODEL_NOTICE_SECONDS * 1000,
      maxRetries: values.MODEL_MAX_RETRIES,
      // Unset: what a task may take on AWS in all, its first run and every continuation.
      turnTimeLimitMs: values.TURN_TIME_LIMIT_MINUTES
        ? values.TURN_TIME_LIMIT_MINUTES * 60_000
        : taskTimeLimitMs(maxContinuations),
    },
    maxContinuations,
  };
}
