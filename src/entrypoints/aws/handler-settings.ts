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
import { type MediaConfig, mediaConfigFrom, mediaVariables } from '../../config/media-settings.js';
import type { AccessPolicy } from '../../domain/access-policy.js';
import { DEFAULT_MAX_CONTINUATIONS } from '../../domain/continuation-limits.js';
import { DEFAULT_WORKSPACE_LIMITS, type WorkspaceLimits } from '../../ports/workspace-store.js';
import { HANDLER_ENV as ENV } from './handler-env.js';

/**
 * The Lambda handlers' settings, read from the environment the stack sets,
 * by the names in handler-env.ts (which the CDK app writes by too). Names,
 * ARNs, URLs and limits only: secret values are fetched at run time by ARN.
 * Every problem is reported at once, by variable name.
 */

const MEGABYTE = 1024 * 1024;

const required = (what: string) =>
  optionalText.pipe(z.string({ message: `required: ${what}` }).min(1, `required: ${what}`));

const ingressSchema = z.object({
  [ENV.tableName]: required('the DynamoDB table'),
  [ENV.jobQueueUrl]: required('the SQS FIFO queue URL').pipe(z.url()),
  [ENV.botTokenSecretArn]: required('the bot token secret ARN'),
  [ENV.webhookSecretArn]: required('the webhook secret ARN'),
  ...accessVariables,
  [ENV.tenant]: tenantName,
  /** Another Bot API server (self-hosted, tests); Telegram's own when unset. */
  [ENV.telegramApiRoot]: httpUrl,
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
    tableName: values[ENV.tableName],
    queueUrl: values[ENV.jobQueueUrl],
    botTokenSecretArn: values[ENV.botTokenSecretArn],
    webhookSecretArn: values[ENV.webhookSecretArn],
    access: accessPolicyFrom(values),
    tenant: values[ENV.tenant] ?? 'default',
    telegramApiRoot: values[ENV.telegramApiRoot],
  };
}

const workerSchema = z.object({
  [ENV.tableName]: required('the DynamoDB table'),
  [ENV.transcriptBucket]: optionalText,
  [ENV.workspaceMaxFiles]: wholeNumber(1, 1_000_000),
  [ENV.workspaceMaxMegabytes]: wholeNumber(1, 10_240),
  [ENV.botTokenSecretArn]: required('the bot token secret ARN'),
  [ENV.anthropicApiKeySecretArn]: optionalText,
  ...mediaVariables,
  [ENV.transcriptionApiKeySecretArn]: optionalText,
  [ENV.maxAttempts]: wholeNumber(1, 1000),
  [ENV.maxContinuations]: wholeNumber(0, 20),
  /** Optional: derived from each record's queue ARN when unset. */
  [ENV.jobQueueUrl]: httpUrl,
  [ENV.telegramApiRoot]: httpUrl,
  [ENV.useBedrock]: flag,
  /** The image sets both; the defaults suit a plain Lambda. */
  [ENV.dataDir]: optionalText,
  [ENV.agentDir]: optionalText,
});

export interface WorkerSettings {
  tableName: string;
  transcriptBucket: string | undefined;
  /** What the workspace store keeps per conversation. */
  workspaceLimits: WorkspaceLimits;
  botTokenSecretArn: string;
  /** Set when the model is reached through the Anthropic API with a key from Secrets Manager. */
  anthropicApiKeySecretArn: string | undefined;
  /** Files people send; the transcription key is not here but read by `transcriptionApiKeySecretArn`. */
  media: MediaConfig;
  transcriptionApiKeySecretArn: string | undefined;
  useBedrock: boolean;
  /** Real attempts at one message before the worker gives up (a lease conflict is none). */
  maxAttempts: number;
  /** Continuations one task may take after its first run (see DeadlineTurnRunner). */
  maxContinuations: number;
  queueUrl: string | undefined;
  telegramApiRoot: string | undefined;
  /** Workspaces and per-turn temp directories; under /tmp, the only writable place on Lambda. */
  dataDir: string;
  agentDir: string;
}

export function loadWorkerSettings(env: Env, cwd = process.cwd()): WorkerSettings {
  const values = parseEnv(workerSchema, env);
  return {
    tableName: values[ENV.tableName],
    transcriptBucket: values[ENV.transcriptBucket],
    workspaceLimits: {
      maxFiles: values[ENV.workspaceMaxFiles] ?? DEFAULT_WORKSPACE_LIMITS.maxFiles,
      maxBytes:
        (values[ENV.workspaceMaxMegabytes] ?? DEFAULT_WORKSPACE_LIMITS.maxBytes / MEGABYTE) *
        MEGABYTE,
    },
    botTokenSecretArn: values[ENV.botTokenSecretArn],
    anthropicApiKeySecretArn: values[ENV.anthropicApiKeySecretArn],
    media: mediaConfigFrom(values, undefined),
    transcriptionApiKeySecretArn: values[ENV.transcriptionApiKeySecretArn],
    useBedrock: values[ENV.useBedrock] ?? false,
    maxAttempts: values[ENV.maxAttempts] ?? 3,
    maxContinuations: values[ENV.maxContinuations] ?? DEFAULT_MAX_CONTINUATIONS,
    queueUrl: values[ENV.jobQueueUrl],
    telegramApiRoot: values[ENV.telegramApiRoot],
    dataDir: path.resolve(cwd, values[ENV.dataDir] ?? path.join(tmpdir(), 'agent-data')),
    agentDir: path.resolve(cwd, values[ENV.agentDir] ?? 'agent'),
  };
}

const deadLetterSchema = z.object({
  [ENV.tableName]: required('the DynamoDB table'),
  [ENV.botTokenSecretArn]: required('the bot token secret ARN'),
  [ENV.parkedQueueUrl]: required('the parked queue URL').pipe(z.url()),
  [ENV.telegramApiRoot]: httpUrl,
});

export interface DeadLetterSettings {
  tableName: string;
  botTokenSecretArn: string;
  parkedQueueUrl: string;
  telegramApiRoot: string | undefined;
}

export function loadDeadLetterSettings(env: Env): DeadLetterSettings {
  const values = parseEnv(deadLetterSchema, env);
  return {
    tableName: values[ENV.tableName],
    botTokenSecretArn: values[ENV.botTokenSecretArn],
    parkedQueueUrl: values[ENV.parkedQueueUrl],
    telegramApiRoot: values[ENV.telegramApiRoot],
  };
}
