import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { Env } from '../../config/runtime-settings.js';
import { type SettingIssue, SettingsError } from '../../config/settings-error.js';
import type { AccessPolicy } from '../../core/access-policy.js';

/**
 * The Lambda handlers' settings, read from the environment the stack sets
 * (infra/lib/handler-env.ts is the contract). Names, ARNs, URLs and limits
 * only: secret values are fetched at run time by ARN. Every problem is
 * reported at once, by variable name.
 */

const text = z
  .string()
  .trim()
  .transform((value) => value || undefined)
  .optional();

const required = (what: string) =>
  text.pipe(z.string({ message: `required: ${what}` }).min(1, `required: ${what}`));

const url = text.pipe(z.url({ message: 'expected an http(s) URL' }).optional());

const flag = text.pipe(
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no'], { message: 'expected true or false' })
    .transform((value) => value === '1' || value === 'true' || value === 'yes')
    .optional(),
);

function idList(allowNegative: boolean) {
  return text.pipe(
    z
      .string()
      .transform((value) => value.split(/[\s,]+/).filter(Boolean))
      .pipe(
        z.array(
          z.string().regex(allowNegative ? /^-?\d+$/ : /^\d+$/, {
            message: `expected a comma-separated list of ${allowNegative ? 'integers' : 'positive integers'}`,
          }),
        ),
      )
      .optional(),
  );
}

const ingressSchema = z.object({
  TABLE_NAME: required('the DynamoDB table'),
  JOB_QUEUE_URL: required('the SQS FIFO queue URL').pipe(z.url()),
  TELEGRAM_BOT_TOKEN_SECRET_ARN: required('the bot token secret ARN'),
  TELEGRAM_WEBHOOK_SECRET_ARN: required('the webhook secret ARN'),
  TELEGRAM_ALLOWED_USER_IDS: idList(false),
  TELEGRAM_ALLOWED_CHAT_IDS: idList(true),
  TELEGRAM_ALLOW_EVERYONE: flag,
  TENANT: text.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, {
        message: 'expected up to 64 of A-Z, a-z, 0-9, ., _ and -',
      })
      .optional(),
  ),
  /** Another Bot API server (self-hosted, tests); Telegram's own when unset. */
  TELEGRAM_API_ROOT: url,
});

export interface IngressSettings {
  tableName: string;
  queueUrl: string;
  botTokenSecretArn: string;
  webhookSecretArn: string;
  access: AccessPolicy;
  tenant: string;
  telegramApiRoot: string | undefined;
}

export function loadIngressSettings(env: Env): IngressSettings {
  const values = parse(ingressSchema, env);
  return {
    tableName: values.TABLE_NAME,
    queueUrl: values.JOB_QUEUE_URL,
    botTokenSecretArn: values.TELEGRAM_BOT_TOKEN_SECRET_ARN,
    webhookSecretArn: values.TELEGRAM_WEBHOOK_SECRET_ARN,
    access: {
      allowedUserIds: new Set(values.TELEGRAM_ALLOWED_USER_IDS ?? []),
      allowedChatIds: new Set(values.TELEGRAM_ALLOWED_CHAT_IDS ?? []),
      openToAll: values.TELEGRAM_ALLOW_EVERYONE ?? false,
    },
    tenant: values.TENANT ?? 'default',
    telegramApiRoot: values.TELEGRAM_API_ROOT,
  };
}

const workerSchema = z.object({
  TABLE_NAME: required('the DynamoDB table'),
  TRANSCRIPT_BUCKET: text,
  TELEGRAM_BOT_TOKEN_SECRET_ARN: required('the bot token secret ARN'),
  ANTHROPIC_API_KEY_SECRET_ARN: text,
  JOB_MAX_ATTEMPTS: text.pipe(
    z.coerce
      .number<string | undefined>({ message: 'expected a whole number from 1 to 1000' })
      .int('expected a whole number from 1 to 1000')
      .min(1, 'expected a whole number from 1 to 1000')
      .max(1000, 'expected a whole number from 1 to 1000')
      .optional(),
  ),
  /** Optional: derived from each record's queue ARN when unset. */
  JOB_QUEUE_URL: url,
  TELEGRAM_API_ROOT: url,
  CLAUDE_CODE_USE_BEDROCK: flag,
  /** The image sets both; the defaults suit a plain Lambda. */
  DATA_DIR: text,
  AGENT_DIR: text,
});

export interface WorkerSettings {
  tableName: string;
  transcriptBucket: string | undefined;
  botTokenSecretArn: string;
  /** Set when the model is reached through the Anthropic API with a key from Secrets Manager. */
  anthropicApiKeySecretArn: string | undefined;
  useBedrock: boolean;
  /** Receives of one message before SQS moves it to the dead-letter queue (the redrive policy's). */
  maxAttempts: number;
  queueUrl: string | undefined;
  telegramApiRoot: string | undefined;
  /** Workspaces and per-turn temp directories; under /tmp, the only writable place on Lambda. */
  dataDir: string;
  agentDir: string;
}

export function loadWorkerSettings(env: Env, cwd = process.cwd()): WorkerSettings {
  const values = parse(workerSchema, env);
  return {
    tableName: values.TABLE_NAME,
    transcriptBucket: values.TRANSCRIPT_BUCKET,
    botTokenSecretArn: values.TELEGRAM_BOT_TOKEN_SECRET_ARN,
    anthropicApiKeySecretArn: values.ANTHROPIC_API_KEY_SECRET_ARN,
    useBedrock: values.CLAUDE_CODE_USE_BEDROCK ?? false,
    maxAttempts: values.JOB_MAX_ATTEMPTS ?? 3,
    queueUrl: values.JOB_QUEUE_URL,
    telegramApiRoot: values.TELEGRAM_API_ROOT,
    dataDir: path.resolve(cwd, values.DATA_DIR ?? path.join(tmpdir(), 'agent-data')),
    agentDir: path.resolve(cwd, values.AGENT_DIR ?? 'agent'),
  };
}

function parse<T extends z.ZodType>(schema: T, env: Env): z.output<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issues: SettingIssue[] = parsed.error.issues.map((issue) => ({
    name: String(issue.path[0] ?? '?'),
    message: issue.message,
  }));
  throw new SettingsError(issues);
}
