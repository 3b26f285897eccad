import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { profileRegionProblem, profileWorksIn } from './bedrock-resources.js';

/**
 * The deployment's settings: `infra/config.json` (optional) overlaid with
 * `INFRA_*` environment variables, validated here once. Every default works
 * with no file at all, so `npx cdk synth` runs on a fresh checkout.
 */

const positiveInt = (min: number, max: number) =>
  z
    .number({ message: `expected a whole number from ${min} to ${max}` })
    .int(`expected a whole number from ${min} to ${max}`)
    .min(min, `expected a whole number from ${min} to ${max}`)
    .max(max, `expected a whole number from ${min} to ${max}`);

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

/** Telegram user ids are positive; group and channel chat ids are negative. */
const userId = z.string().regex(/^\d{1,20}$/, 'expected a Telegram user id (digits)');
const chatId = z.string().regex(/^-?\d{1,20}$/, 'expected a Telegram chat id (an integer)');

const modelSchema = z
  .strictObject({
    /** `bedrock`: the worker's IAM role calls Amazon Bedrock. `anthropic`: an API key from Secrets Manager. */
    provider: z.enum(['bedrock', 'anthropic']).default('bedrock'),
    /**
     * The agent's main model. Bedrock: a model id, an inference profile id
     * (`us.anthropic...`) or an ARN; default: Claude Sonnet 4.5 through the
     * inference profile of the region's geography. Anthropic: a model name;
     * default: Claude Code's own default.
     */
    id: z.string().trim().min(1).optional(),
    /**
     * Claude Code's small fast model (background calls, and what a subagent
     * with `model: haiku` runs on). Passed to Claude Code as
     * ANTHROPIC_DEFAULT_HAIKU_MODEL and granted on Bedrock from this one
     * value, so the permission and Claude Code's choice cannot diverge.
     * Default on Bedrock: Claude Haiku 4.5 of the region's geography;
     * Anthropic: Claude Code's own default.
     */
    smallFastId: z.string().trim().min(1).optional(),
    /** Further models the agent may call (a subagent with a full model id). Bedrock permission is granted for each. */
    extraIds: z.array(z.string().trim().min(1)).optional(),
  })
  .prefault({});

const workerSchema = z
  .strictObject({
    /**
     * Measured (`npm run bench -- worker-memory`): a turn with a subagent and
     * two MCP servers peaks at ~560 MB resident, the handler process and
     * Claude Code's process tree summed (an upper bound: shared pages count
     * twice). Default: that plus 50 % for the commands the agent runs,
     * rounded up to 1024 MB. Lambda's CPU share grows with memory (one vCPU
     * at 1769 MB), but a turn mostly waits on the model, and this is most of
     * the cost per turn (infra/README.md, What it costs). Raise it for agents
     * that run heavy tools; WorkerErrors alarms on an out-of-memory end.
     */
    memoryMiB: positiveInt(1024, 10_240).default(1024),
    /** Lambda's hard limit is 900 s; the worker stops a turn before this deadline. */
    timeoutSeconds: positiveInt(60, 900).default(900),
    /** /tmp holds each turn's working directory and Claude Code's config dir. */
    ephemeralStorageMiB: positiveInt(512, 10_240).default(2048),
    /** Caps the function itself; leaves this much less for the rest of the account. */
    reservedConcurrency: positiveInt(1, 1000).optional(),
    /**
     * Caps how many workers the SQS event source runs at once. Prefer this to
     * reserved concurrency: the poller stops fetching instead of being
     * throttled, so messages do not burn receives while waiting. Default 5
     * (or the reserved concurrency, if smaller): a new account may run only
     * 10 Lambdas at once, and long turns must leave room for the ingress and
     * the dead-letter consumer, or webhooks are throttled.
     */
    maxConcurrency: positiveInt(2, 1000).optional(),
    /**
     * Bounds on a silent or failing model and on a turn's time
     * (MODEL_NOTICE_SECONDS, MODEL_MAX_RETRIES, TURN_TIME_LIMIT_MINUTES; see
     * src/core/agent/model-failure.ts). Unset: the runtime's defaults.
     */
    modelNoticeSeconds: positiveInt(10, 900).optional(),
    modelMaxRetries: z.number().int().min(0).max(10, 'expected 0 to 10').optional(),
    turnTimeLimitMinutes: positiveInt(1, 15).optional(),
    /**
     * Continuations a task cut at the worker's deadline may take, each a new
     * invocation (MAX_CONTINUATIONS; src/core/pipeline/continuation.ts); 0
     * ends a task at its first deadline. Unset: 3, an hour in all.
     */
    maxContinuations: z.number().int().min(0).max(20, 'expected 0 to 20').optional(),
    /**
     * Minutes a question to the person (AskUserQuestion, an approval) waits
     * (QUESTION_TIMEOUT_MINUTES). A wait also ends shortly before the
     * invocation's deadline, so no more than the worker timeout is useful.
     * Unset: 10.
     */
    questionTimeoutMinutes: positiveInt(1, 15).optional(),
    /**
     * What the workspace store keeps of one conversation's files in S3
     * (WORKSPACE_MAX_FILES, WORKSPACE_MAX_MB); a turn's files beyond them are
     * not kept and the person is told. Unset: 5000 files, 256 MiB. Keep the
     * size well under ephemeralStorageMiB: the files are restored into /tmp.
     */
    workspaceMaxFiles: positiveInt(1, 1_000_000).optional(),
    workspaceMaxMiB: positiveInt(1, 10_240).optional(),
    /**
     * Messages per invocation: a conversation's messages that waited while a
     * turn ran arrive together and one turn answers them (sqs-record-units.ts).
     */
    batchSize: positiveInt(1, 10).default(10),
    /**
     * Use an image already pushed to ECR (same account and region) instead of
     * building `Dockerfile.worker` during `cdk deploy`; for hosts without Docker.
     */
    image: z
      .strictObject({
        repositoryName: z
          .string()
          .regex(/^[a-z0-9][a-z0-9._\-/]{1,255}$/, 'expected an ECR repository name'),
        tagOrDigest: z
          .string()
          .regex(
            /^(sha256:[a-f0-9]{64}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/,
            'expected an image tag or a sha256 digest',
          ),
      })
      .optional(),
  })
  .prefault({});

/** Files people send (src/core/pipeline/inbound-media.ts). */
const mediaSchema = z
  .strictObject({
    /**
     * Largest file a person may send, in MB (MAX_DOWNLOAD_MB). Telegram's
     * own servers serve files up to 20 MB whatever this says. Unset: 20.
     */
    maxDownloadMb: positiveInt(1, 2000).optional(),
    /**
     * Speech to text for voice messages and audio: an OpenAI-compatible
     * `/v1/audio/transcriptions` endpoint. Unset: recordings are kept as
     * files and the person is told voice needs this setting.
     */
    transcription: z
      .strictObject({
        url: z.url({ message: 'expected the http(s) URL of the transcriptions endpoint' }),
        /** The service's model name (TRANSCRIPTION_MODEL). Default `whisper-1`. */
        model: z.string().trim().min(1).optional(),
        /**
         * The endpoint takes a key: the stack makes a secret for it (set its
         * value after the first deploy) and the worker reads it at run time.
         */
        apiKey: z.boolean().default(true),
      })
      .optional(),
  })
  .prefault({});

const ingressSchema = z
  .strictObject({
    /** More memory is more CPU: cold starts must stay well under Telegram's patience. */
    memoryMiB: positiveInt(128, 3008).default(512),
    timeoutSeconds: positiveInt(3, 29).default(10),
    /** API Gateway stage throttling (requests per second, burst). */
    rateLimit: positiveInt(1, 10_000).default(50),
    burstLimit: positiveInt(1, 5000).default(100),
    /**
     * Concurrency reserved for the ingress, so busy workers (or anything else
     * in the account) can never throttle the webhook. `"off"` reserves none:
     * needed on an account whose concurrency quota is 10 (new accounts),
     * where AWS refuses any reservation because 10 must stay unreserved; the
     * worker's maxConcurrency cap then leaves the ingress its room.
     */
    reservedConcurrency: z
      .union([positiveInt(1, 100), z.literal('off')], {
        message: 'expected a whole number from 1 to 100, or "off"',
      })
      .default(2),
  })
  .prefault({});

const queueSchema = z
  .strictObject({
    /**
     * Real attempts at a message before the worker gives up and tells the
     * person (JOB_MAX_ATTEMPTS). Counted in DynamoDB: a receive that ran
     * nothing (the conversation busy) is not an attempt.
     */
    maxAttempts: positiveInt(1, 100).default(3),
    /**
     * Receives before SQS moves a message to the dead-letter queue. Default:
     * maxAttempts + 10, room for receives that find the conversation busy
     * (each waits a minute) and for a given-up message's last receives.
     */
    maxReceiveCount: positiveInt(1, 1000).optional(),
    /** Default: 1.2 x the worker timeout (see infra/README.md for why not 6x). */
    visibilityTimeoutSeconds: positiveInt(30, 43_200).optional(),
  })
  .prefault({});

const accessSchema = z
  .strictObject({
    allowedUserIds: z.array(userId).default([]),
    allowedChatIds: z.array(chatId).default([]),
    /** Open the bot to anyone who finds it. Off unless set: the agent runs code. */
    allowEveryone: z.boolean().default(false),
  })
  .prefault({});

export const infraConfigSchema = z
  .strictObject({
    /** The CloudFormation stack's name; resource names derive from it. */
    stackName: z
      .string()
      .regex(
        /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
        'expected letters, digits and hyphens, starting with a letter',
      )
      .default('TelegramClaudeAgent'),
    account: z
      .string()
      .regex(/^\d{12}$/, 'expected a 12-digit AWS account id')
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, 'expected an AWS region such as us-east-1')
      .optional(),
    /** Tenant label the handlers put in conversation keys (one bot per tenant). */
    tenant: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .optional(),
    model: modelSchema,
    /** Idle time after which a conversation starts afresh; also the storage expiry. */
    sessionTtlDays: positiveInt(1, 3650).default(25),
    ingress: ingressSchema,
    worker: workerSchema,
    media: mediaSchema,
    queue: queueSchema,
    access: accessSchema,
    /** Where the alarms send email (confirm the subscription mail). */
    alarmEmail: z.email().optional(),
    /**
     * A monthly AWS Budgets cost budget for the whole account, in USD; the
     * alarm topic hears at 80 % of actual and 100 % of forecast spend.
     */
    budgetMonthlyUsd: positiveInt(1, 1_000_000).optional(),
    logRetentionDays: z
      .number()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
        message: `expected one of ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(30),
    /** What `cdk destroy` does to the table, bucket, secrets and logs. */
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
    /** Empty the bucket on destroy (only with removalPolicy `destroy`). */
    autoDeleteObjects: z.boolean().default(false),
  })
  .superRefine((config, ctx) => {
    const visibility = config.queue.visibilityTimeoutSeconds;
    if (visibility !== undefined && visibility < Math.ceil(config.worker.timeoutSeconds * 1.2)) {
      ctx.addIssue({
        code: 'custom',
        path: ['queue', 'visibilityTimeoutSeconds'],
        message: `must be at least 1.2 x worker.timeoutSeconds (${Math.ceil(config.worker.timeoutSeconds * 1.2)}), or a running turn's message would be delivered again`,
      });
    }
    const { maxAttempts, maxReceiveCount } = config.queue;
    if (maxReceiveCount !== undefined && maxReceiveCount < maxAttempts + 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['queue', 'maxReceiveCount'],
        message: `must be at least queue.maxAttempts + 2 (${maxAttempts + 2}): receives that run nothing (a busy conversation) and the one that finds every attempt interrupted must not dead-letter a message before the worker could tell the person`,
      });
    }
    const { reservedConcurrency, maxConcurrency } = config.worker;
    if (
      reservedConcurrency !== undefined &&
      maxConcurrency !== undefined &&
      maxConcurrency > reservedConcurrency
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['worker', 'maxConcurrency'],
        message: 'must not exceed worker.reservedConcurrency, or the event source is throttled',
      });
    }
    if (config.autoDeleteObjects && config.removalPolicy !== 'destroy') {
      ctx.addIssue({
        code: 'custom',
        path: ['autoDeleteObjects'],
        message: 'only allowed with removalPolicy "destroy"',
      });
    }
    if (config.model.provider === 'anthropic' && config.model.id?.startsWith('arn:')) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'id'],
        message: 'an ARN is a Bedrock model; use a model name with provider "anthropic"',
      });
    }
    if (config.model.provider === 'bedrock' && config.region !== undefined) {
      const region = config.region;
      const ids: Array<[PropertyKey[], string | undefined]> = [
        [['model', 'id'], config.model.id],
        [['model', 'smallFastId'], config.model.smallFastId],
        ...(config.model.extraIds ?? []).map((id, index): [PropertyKey[], string] => [
          ['model', 'extraIds', index],
          id,
        ]),
      ];
      for (const [path, id] of ids) {
        const problem = id === undefined ? undefined : profileRegionProblem(id, region);
        if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
      }
    }
  });

export type InfraConfigInput = z.input<typeof infraConfigSchema>;
type ParsedConfig = z.output<typeof infraConfigSchema>;

/** The validated configuration, with the model defaults resolved for the region. */
export type InfraConfig = Omit<ParsedConfig, 'model' | 'queue'> & {
  model: {
    provider: 'bedrock' | 'anthropic';
    id: string | undefined;
    smallFastId: string | undefined;
    extraIds: string[];
  };
  queue: { maxAttempts: number; maxReceiveCount: number; visibilityTimeoutSeconds: number };
};

/** Every model the agent may call: the one Bedrock grant, and the throttling alarm, are made from these. */
export function configuredModelIds(model: InfraConfig['model']): string[] {
  return [model.id, model.smallFastId, ...model.extraIds].filter(
    (modelId): modelId is string => modelId !== undefined,
  );
}

export interface InfraConfigIssue {
  /** Where the value came from: `infra/config.json: worker.memoryMiB` or `INFRA_WORKER_MEMORY_MIB`. */
  source: string;
  message: string;
}

export class InfraConfigError extends Error {
  override readonly name = 'InfraConfigError';
  readonly issues: readonly InfraConfigIssue[];

  constructor(issues: readonly InfraConfigIssue[], options?: { cause?: unknown }) {
    super(
      [
        'Invalid infrastructure configuration:',
        ...issues.map((issue) => `  - ${issue.source}: ${issue.message}`),
        'See infra/README.md (Configuration) for every setting.',
      ].join('\n'),
      options,
    );
    this.issues = issues;
  }
}

type EnvKind = 'string' | 'int' | 'bool' | 'list' | 'intOrOff';

/** Environment overrides: variable -> path in the config and how to read it. */
export const ENV_OVERRIDES: Record<string, { path: readonly string[]; kind: EnvKind }> = {
  INFRA_STACK_NAME: { path: ['stackName'], kind: 'string' },
  INFRA_ACCOUNT: { path: ['account'], kind: 'string' },
  INFRA_REGION: { path: ['region'], kind: 'string' },
  INFRA_TENANT: { path: ['tenant'], kind: 'string' },
  INFRA_MODEL_PROVIDER: { path: ['model', 'provider'], kind: 'string' },
  INFRA_MODEL_ID: { path: ['model', 'id'], kind: 'string' },
  INFRA_SMALL_FAST_MODEL_ID: { path: ['model', 'smallFastId'], kind: 'string' },
  INFRA_EXTRA_MODEL_IDS: { path: ['model', 'extraIds'], kind: 'list' },
  INFRA_SESSION_TTL_DAYS: { path: ['sessionTtlDays'], kind: 'int' },
  INFRA_INGRESS_MEMORY_MIB: { path: ['ingress', 'memoryMiB'], kind: 'int' },
  INFRA_INGRESS_RESERVED_CONCURRENCY: {
    path: ['ingress', 'reservedConcurrency'],
    kind: 'intOrOff',
  },
  INFRA_WORKER_MEMORY_MIB: { path: ['worker', 'memoryMiB'], kind: 'int' },
  INFRA_WORKER_TIMEOUT_SECONDS: { path: ['worker', 'timeoutSeconds'], kind: 'int' },
  INFRA_WORKER_EPHEMERAL_STORAGE_MIB: { path: ['worker', 'ephemeralStorageMiB'], kind: 'int' },
  INFRA_WORKER_RESERVED_CONCURRENCY: { path: ['worker', 'reservedConcurrency'], kind: 'int' },
  INFRA_WORKER_MAX_CONCURRENCY: { path: ['worker', 'maxConcurrency'], kind: 'int' },
  INFRA_WORKER_BATCH_SIZE: { path: ['worker', 'batchSize'], kind: 'int' },
  INFRA_WORKER_WORKSPACE_MAX_FILES: { path: ['worker', 'workspaceMaxFiles'], kind: 'int' },
  INFRA_WORKER_WORKSPACE_MAX_MIB: { path: ['worker', 'workspaceMaxMiB'], kind: 'int' },
  INFRA_MODEL_NOTICE_SECONDS: { path: ['worker', 'modelNoticeSeconds'], kind: 'int' },
  INFRA_MODEL_MAX_RETRIES: { path: ['worker', 'modelMaxRetries'], kind: 'int' },
  INFRA_TURN_TIME_LIMIT_MINUTES: { path: ['worker', 'turnTimeLimitMinutes'], kind: 'int' },
  INFRA_MAX_CONTINUATIONS: { path: ['worker', 'maxContinuations'], kind: 'int' },
  INFRA_QUESTION_TIMEOUT_MINUTES: { path: ['worker', 'questionTimeoutMinutes'], kind: 'int' },
  INFRA_WORKER_IMAGE_REPOSITORY: { path: ['worker', 'image', 'repositoryName'], kind: 'string' },
  INFRA_WORKER_IMAGE_TAG: { path: ['worker', 'image', 'tagOrDigest'], kind: 'string' },
  INFRA_MAX_DOWNLOAD_MB: { path: ['media', 'maxDownloadMb'], kind: 'int' },
  INFRA_TRANSCRIPTION_URL: { path: ['media', 'transcription', 'url'], kind: 'string' },
  INFRA_TRANSCRIPTION_MODEL: { path: ['media', 'transcription', 'model'], kind: 'string' },
  INFRA_MAX_ATTEMPTS: { path: ['queue', 'maxAttempts'], kind: 'int' },
  INFRA_MAX_RECEIVE_COUNT: { path: ['queue', 'maxReceiveCount'], kind: 'int' },
  INFRA_QUEUE_VISIBILITY_TIMEOUT_SECONDS: {
    path: ['queue', 'visibilityTimeoutSeconds'],
    kind: 'int',
  },
  INFRA_ALLOWED_USER_IDS: { path: ['access', 'allowedUserIds'], kind: 'list' },
  INFRA_ALLOWED_CHAT_IDS: { path: ['access', 'allowedChatIds'], kind: 'list' },
  INFRA_ALLOW_EVERYONE: { path: ['access', 'allowEveryone'], kind: 'bool' },
  INFRA_ALARM_EMAIL: { path: ['alarmEmail'], kind: 'string' },
  INFRA_BUDGET_MONTHLY_USD: { path: ['budgetMonthlyUsd'], kind: 'int' },
  INFRA_LOG_RETENTION_DAYS: { path: ['logRetentionDays'], kind: 'int' },
  INFRA_REMOVAL_POLICY: { path: ['removalPolicy'], kind: 'string' },
  INFRA_AUTO_DELETE_OBJECTS: { path: ['autoDeleteObjects'], kind: 'bool' },
};

export interface LoadInfraConfigOptions {
  env?: Record<string, string | undefined>;
  /** Path of the JSON file; missing is fine unless `requireFile`. */
  file?: string | undefined;
  requireFile?: boolean;
}

/**
 * Reads the file (if any), applies `INFRA_*` overrides, falls back to the CDK
 * CLI's `CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION`, validates, and reports
 * every problem at once, each by the variable or file field that caused it.
 */
export function loadInfraConfig(options: LoadInfraConfigOptions = {}): InfraConfig {
  const env = options.env ?? {};
  const fileLabel = options.file ?? 'config';
  let raw: Record<string, unknown> = {};
  if (options.file && existsSync(options.file)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(options.file, 'utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new InfraConfigError([{ source: fileLabel, message: 'expected a JSON object' }]);
      }
      raw = parsed as Record<string, unknown>;
    } catch (error) {
      if (error instanceof InfraConfigError) throw error;
      throw new InfraConfigError(
        [{ source: fileLabel, message: `not valid JSON (${String(error)})` }],
        {
          cause: error,
        },
      );
    }
  } else if (options.file && options.requireFile) {
    throw new InfraConfigError([{ source: fileLabel, message: 'file not found' }]);
  }

  const issues: InfraConfigIssue[] = [];
  const fromEnv = new Map<string, string>();
  for (const [name, override] of Object.entries(ENV_OVERRIDES)) {
    const text = env[name]?.trim();
    if (!text) continue;
    const value = readEnvValue(text, override.kind);
    if (value === undefined) {
      issues.push({ source: name, message: `expected ${describeKind(override.kind)}` });
      continue;
    }
    setPath(raw, override.path, value);
    fromEnv.set(override.path.join('.'), name);
  }
  if (raw.account === undefined && env.CDK_DEFAULT_ACCOUNT) raw.account = env.CDK_DEFAULT_ACCOUNT;
  if (raw.region === undefined && env.CDK_DEFAULT_REGION) raw.region = env.CDK_DEFAULT_REGION;

  const result = infraConfigSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const dotted = issue.path.map(String).join('.');
      const envName = [...fromEnv.entries()].find(
        ([path]) => dotted === path || dotted.startsWith(`${path}.`),
      )?.[1];
      issues.push({
        source: envName ?? `${fileLabel}: ${dotted || '(root)'}`,
        message: issue.message,
      });
    }
  }
  if (issues.length > 0 || !result.success) throw new InfraConfigError(issues);
  return resolveDefaults(result.data);
}

/** Validates an in-memory config (tests, other apps embedding the stack). */
export function parseInfraConfig(input: InfraConfigInput): InfraConfig {
  const result = infraConfigSchema.safeParse(input);
  if (!result.success) {
    throw new InfraConfigError(
      result.error.issues.map((issue) => ({
        source: issue.path.map(String).join('.') || '(root)',
        message: issue.message,
      })),
    );
  }
  return resolveDefaults(result.data);
}

const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const HAIKU = 'anthropic.claude-haiku-4-5-20251001-v1:0';

/**
 * The Bedrock cross-region inference profile prefix for a region's
 * geography; `global` where no geographic profile can be called from the
 * region. No region (an environment-agnostic template): `us`.
 */
export function bedrockGeography(region: string | undefined): string {
  if (region?.startsWith('us-gov-')) return 'us-gov';
  if (region === undefined || profileWorksIn('us', region)) return 'us';
  if (region.startsWith('eu-')) return 'eu';
  if (region.startsWith('ap-')) return 'apac';
  return 'global';
}

/** The default worker event-source cap (see workerSchema.maxConcurrency). */
const DEFAULT_WORKER_MAX_CONCURRENCY = 5;

function resolveDefaults(config: ParsedConfig): InfraConfig {
  const bedrock = config.model.provider === 'bedrock';
  const geo = bedrockGeography(config.region);
  const { reservedConcurrency, maxConcurrency } = config.worker;
  return {
    ...config,
    model: {
      provider: config.model.provider,
      id: config.model.id ?? (bedrock ? `${geo}.${SONNET}` : undefined),
      smallFastId: config.model.smallFastId ?? (bedrock ? `${geo}.${HAIKU}` : undefined),
      extraIds: config.model.extraIds ?? [],
    },
    worker: {
      ...config.worker,
      // The event source's cap cannot be below 2; a reservation of 1 caps alone.
      maxConcurrency:
        maxConcurrency ??
        (reservedConcurrency === undefined
          ? DEFAULT_WORKER_MAX_CONCURRENCY
          : reservedConcurrency >= 2
            ? Math.min(DEFAULT_WORKER_MAX_CONCURRENCY, reservedConcurrency)
            : undefined),
    },
    queue: {
      maxAttempts: config.queue.maxAttempts,
      maxReceiveCount: config.queue.maxReceiveCount ?? config.queue.maxAttempts + 10,
      visibilityTimeoutSeconds:
        config.queue.visibilityTimeoutSeconds ?? Math.ceil(config.worker.timeoutSeconds * 1.2),
    },
  };
}

function readEnvValue(text: string, kind: EnvKind): unknown {
  switch (kind) {
    case 'string':
      return text;
    case 'int':
      return /^-?\d+$/.test(text) ? Number(text) : undefined;
    case 'bool':
      if (['1', 'true', 'yes'].includes(text.toLowerCase())) return true;
      if (['0', 'false', 'no'].includes(text.toLowerCase())) return false;
      return undefined;
    case 'list':
      return text.split(/[\s,]+/).filter(Boolean);
    case 'intOrOff':
      if (text.toLowerCase() === 'off') return 'off';
      return /^-?\d+$/.test(text) ? Number(text) : undefined;
  }
}

function describeKind(kind: EnvKind): string {
  switch (kind) {
    case 'string':
      return 'text';
    case 'int':
      return 'a whole number';
    case 'bool':
      return 'true or false';
    case 'list':
      return 'a comma-separated list';
    case 'intOrOff':
      return 'a whole number or "off"';
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}
