import { z } from 'zod';
import type { AccessPolicy } from '../domain/access-policy.js';
import {
  accessPolicyFrom,
  accessVariables,
  type Env,
  httpUrl,
  optionalText,
  tenantName,
  wholeNumber,
} from './env-values.js';
import {
  type MediaConfig,
  mediaConfigFrom,
  mediaVariables,
  transcriptionKeyVariable,
} from './media-settings.js';
import { loadQuestionSettings } from './question-settings.js';
import { loadRuntimeSettings, type RuntimeSettings } from './runtime-settings.js';
import { type SettingIssue, SettingsError } from './settings-error.js';

/** Everything `npm start` needs: the runtime's settings plus the Telegram bot's and the worker's. */
export interface AppSettings {
  runtime: RuntimeSettings;
  telegram: {
    token: string;
    /** Bot API base URL; undefined means Telegram's own. */
    apiRoot: string | undefined;
    /** Set in webhook mode; long polling otherwise. */
    webhook: { url: string; secret: string; host: string; port: number } | undefined;
  };
  access: AccessPolicy;
  tenant: string;
  worker: { concurrency: number; maxAttempts: number };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Port of the loopback health endpoint (`GET /healthz`); none when unset. */
  healthPort: number | undefined;
  /** Files people send: download cap, speech to text (media-settings.ts). */
  media: MediaConfig;
  /** Questions to the person: how long one waits (QUESTION_TIMEOUT_MINUTES; question-settings.ts). */
  questions: { timeoutMs: number };
}

const schema = z.object({
  TELEGRAM_BOT_TOKEN: optionalText.pipe(
    z
      .string({ message: 'required: the bot token from @BotFather' })
      .regex(/^\d+:[A-Za-z0-9_-]{20,}$/, {
        message: 'does not look like a bot token from @BotFather (digits, a colon, then letters)',
      }),
  ),
  TELEGRAM_API_ROOT: httpUrl,
  ...accessVariables,
  TELEGRAM_WEBHOOK_URL: optionalText.pipe(
    z.url({ message: 'expected the public https URL of the webhook' }).optional(),
  ),
  TELEGRAM_WEBHOOK_SECRET: optionalText.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{16,256}$/, {
        message: 'expected 16 to 256 characters of A-Z, a-z, 0-9, _ and -',
      })
      .optional(),
  ),
  WEBHOOK_HOST: optionalText,
  WEBHOOK_PORT: wholeNumber(0, 65_535),
  HEALTH_PORT: wholeNumber(0, 65_535),
  ...mediaVariables,
  ...transcriptionKeyVariable,
  TENANT: tenantName,
  WORKER_CONCURRENCY: wholeNumber(1, 64),
  JOB_MAX_ATTEMPTS: wholeNumber(1, 20),
  LOG_LEVEL: optionalText.pipe(
    z
      .enum(['debug', 'info', 'warn', 'error'], { message: 'expected debug, info, warn or error' })
      .optional(),
  ),
});

/**
 * Read every setting of the local server from the environment. All problems
 * (the runtime's and the bot's) are collected and thrown as one SettingsError
 * that names each variable, so the operator fixes them in one pass.
 */
export function loadAppSettings(env: Env, cwd = process.cwd()): AppSettings {
  const issues: SettingIssue[] = [];
  const runtime = collectingIssues(issues, () => loadRuntimeSettings(env, cwd));
  const questions = collectingIssues(issues, () => loadQuestionSettings(env));

  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '?');
      const message =
        name === 'TELEGRAM_BOT_TOKEN' && issue.code === 'invalid_type'
          ? 'required: the bot token from @BotFather'
          : issue.message;
      issues.push({ name, message });
    }
    throw new SettingsError(issues);
  }
  const values = parsed.data;

  const hasUrl = values.TELEGRAM_WEBHOOK_URL !== undefined;
  const hasSecret = values.TELEGRAM_WEBHOOK_SECRET !== undefined;
  if (hasUrl !== hasSecret) {
    issues.push(
      hasUrl
        ? {
            name: 'TELEGRAM_WEBHOOK_SECRET',
            message: 'required with TELEGRAM_WEBHOOK_URL (webhook mode)',
          }
        : {
            name: 'TELEGRAM_WEBHOOK_URL',
            message: 'required with TELEGRAM_WEBHOOK_SECRET (webhook mode)',
          },
    );
  }
  if (issues.length > 0 || !runtime || !questions) throw new SettingsError(issues);

  return {
    runtime,
    telegram: {
      token: values.TELEGRAM_BOT_TOKEN,
      apiRoot: values.TELEGRAM_API_ROOT,
      webhook:
        values.TELEGRAM_WEBHOOK_URL && values.TELEGRAM_WEBHOOK_SECRET
          ? {
              url: values.TELEGRAM_WEBHOOK_URL,
              secret: values.TELEGRAM_WEBHOOK_SECRET,
              host: values.WEBHOOK_HOST ?? '0.0.0.0',
              port: values.WEBHOOK_PORT ?? 8080,
            }
          : undefined,
    },
    access: accessPolicyFrom(values),
    tenant: values.TENANT ?? 'default',
    worker: {
      concurrency: values.WORKER_CONCURRENCY ?? 2,
      maxAttempts: values.JOB_MAX_ATTEMPTS ?? 3,
    },
    logLevel: values.LOG_LEVEL ?? 'info',
    healthPort: values.HEALTH_PORT,
    media: mediaConfigFrom(values, values.TRANSCRIPTION_API_KEY),
    questions,
  };
}

/** What `load` reads, or undefined with its SettingsError's issues added to `issues`. */
function collectingIssues<T>(issues: SettingIssue[], load: () => T): T | undefined {
  try {
    return load();
  } catch (error) {
    if (!SettingsError.isInstance(error)) throw error;
    issues.push(...error.issues);
    return undefined;
  }
}
