import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  accessPolicyFrom,
  accessVariables,
  type Env,
  flag,
  httpUrl,
  optionalText,
  parseEnv,
  tenantName,
  wholeNumber,
} from '../../config/env-values.js';
import type { AccessPolicy } from '../../domain/access-policy.js';

/**
 * The Lambda handlers' settings, read from the environment the stack sets
 * (infra/lib/handler-env.ts is the contract). Names, ARNs, URLs and limits
 * only: secret values are fetched at run time by ARN. Every problem is
 * reported at once, by variable name.
 */

const required = (what: string) =>
  optionalText.pipe(z.string({ message: `required: ${what}` }).min(1, `required: ${what}`));

const ingressSchema = z.object({
  TABLE_NAME: required('the DynamoDB table'),
  JOB_QUEUE_URL: required('the SQS FIFO queue URL').pipe(z.url()),
  TELEGRAM_BOT_TOKEN_SECRET_ARN: required('the bot token secret ARN'),
  TELEGRAM_WEBHOOK_SECRET_ARN: required('the webhook secret ARN'),
  ...accessVariables,
  TENANT: tenantName,
  /** Another Bot API server (self-hosted, tests); Telegram's own when unset. */
  TELEGRAM_API_ROOT: httpUrl,
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
  const values = parseEnv(ingressSchema, env);
  return {
    tableName: values.TABLE_NAME,
    queueUrl: values.JOB_QUEUE_URL,
    botTokenSecretArn: values.TELEGRAM_BOT_TOKEN_SECRET_ARN,
    webhookSecretArn: values.TELEGRAM_WEBHOOK_SECRET_ARN,
    access: accessPolicyFrom(values),
    tenant: values.TENANT ?? 'default',
    telegramApiRoot: values.TELEGRAM_API_ROOT,
  };
}

const workerSchema = z.object({
  TABLE_NAME: required('the DynamoDB table'),
  TRANSCRIPT_BUCKET: optionalText,
  TELEGRAM_BOT_TOKEN_SECRET_ARN: required('the bot token secret ARN'),
  ANTHROPIC_API_KEY_SECRET_ARN: optionalText,
  JOB_MAX_ATTEMPTS: wholeNumber(1, 1000),
  /** Optional: derived from each record's queue ARN when unset. */
  JOB_QUEUE_URL: httpUrl,
  TELEGRAM_API_ROOT: httpUrl,
  CLAUDE_CODE_USE_BEDROCK: flag,
  /** The image sets both; the defaults suit a plain Lambda. */
  DATA_DIR: optionalText,
  AGENT_DIR: optionalText,
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
  const values = parseEnv(workerSchema, env);
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
