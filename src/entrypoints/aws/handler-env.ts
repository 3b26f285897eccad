import type { accessVariables } from '../../config/env-values.js';
import type { mediaVariables } from '../../config/media-settings.js';

/** The allowlist variables, as the shared settings code spells them. */
type AccessVariable = keyof typeof accessVariables;
/** The media variables, as the shared settings code spells them. */
type MediaVariable = keyof typeof mediaVariables;

/**
 * The environment the stack gives each Lambda: the contract between the CDK
 * app (infra/lib/functions.ts writes these) and the handlers
 * (handler-settings.ts reads them), written once for both. Values are names,
 * ARNs, URLs and limits only; secret values are read at run time from
 * Secrets Manager by ARN (and cached). Where the local server already has a
 * variable for the same setting (src/config/app-settings.ts,
 * runtime-settings.ts) the same name is used.
 *
 * No runtime imports here: the CDK app loads this file too.
 */
export const HANDLER_ENV = {
  /** DynamoDB table (conversation index, transcripts, dedupe, leases). */
  tableName: 'TABLE_NAME',
  /**
   * S3 bucket for transcript payloads too large for an item and, under
   * `workspaces/`, the conversations' files (worker only). Without it the
   * files last one turn.
   */
  transcriptBucket: 'TRANSCRIPT_BUCKET',
  /** Per-conversation limits on the files kept (worker; defaults in ports/workspace-store.ts). */
  workspaceMaxFiles: 'WORKSPACE_MAX_FILES',
  workspaceMaxMegabytes: 'WORKSPACE_MAX_MB',
  /** SQS FIFO queue URL (ingress sends; the worker is fed by the event source). */
  jobQueueUrl: 'JOB_QUEUE_URL',
  /**
   * Real attempts at a job (counted in DynamoDB; a receive that ran nothing
   * is not one): the worker sends its one failure message on the last. The
   * queue's maxReceiveCount is set well above it.
   */
  maxAttempts: 'JOB_MAX_ATTEMPTS',
  /**
   * How many times a task cut at the worker's deadline goes on in a new
   * invocation (a continuation on its lane); default 3 (worker).
   */
  maxContinuations: 'MAX_CONTINUATIONS',
  /** Minutes a question to the person waits (worker; src/config/question-settings.ts). */
  questionTimeoutMinutes: 'QUESTION_TIMEOUT_MINUTES',
  /** The parked queue the dead-letter consumer moves dead letters to (redrive source). */
  parkedQueueUrl: 'PARKED_QUEUE_URL',
  botTokenSecretArn: 'TELEGRAM_BOT_TOKEN_SECRET_ARN',
  webhookSecretArn: 'TELEGRAM_WEBHOOK_SECRET_ARN',
  /** Only with model provider `anthropic`. */
  anthropicApiKeySecretArn: 'ANTHROPIC_API_KEY_SECRET_ARN',
  allowedUserIds: 'TELEGRAM_ALLOWED_USER_IDS' satisfies AccessVariable,
  allowedChatIds: 'TELEGRAM_ALLOWED_CHAT_IDS' satisfies AccessVariable,
  allowEveryone: 'TELEGRAM_ALLOW_EVERYONE' satisfies AccessVariable,
  tenant: 'TENANT',
  sessionTtlDays: 'SESSION_TTL_DAYS',
  /** The agent's model (runtime-settings.ts reads it). */
  model: 'ANTHROPIC_MODEL',
  /**
   * Claude Code's small fast model (runtime-settings.ts reads it; the agent
   * gets it under the name Claude Code reads). The stack grants Bedrock
   * access from the same value.
   */
  smallFastModel: 'ANTHROPIC_DEFAULT_HAIKU_MODEL',
  /** Bounds on a silent or failing model and a turn's time (runtime-settings.ts). */
  modelNoticeSeconds: 'MODEL_NOTICE_SECONDS',
  modelMaxRetries: 'MODEL_MAX_RETRIES',
  turnTimeLimitMinutes: 'TURN_TIME_LIMIT_MINUTES',
  /** `1` with provider `bedrock` (runtime-settings.ts); AWS_REGION is set by Lambda itself. */
  useBedrock: 'CLAUDE_CODE_USE_BEDROCK',
  /** Another Bot API server (self-hosted, tests); Telegram's own when unset. The stack sets none. */
  telegramApiRoot: 'TELEGRAM_API_ROOT',
  /** Largest file a person may send, in MB (worker; media-settings.ts). */
  maxDownloadMb: 'MAX_DOWNLOAD_MB' satisfies MediaVariable,
  /** An OpenAI-compatible speech-to-text endpoint for voice messages (worker); none: kept as files. */
  transcriptionUrl: 'TRANSCRIPTION_URL' satisfies MediaVariable,
  transcriptionModel: 'TRANSCRIPTION_MODEL' satisfies MediaVariable,
  /** The transcription service's key, read from Secrets Manager at run time. */
  transcriptionApiKeySecretArn: 'TRANSCRIPTION_API_KEY_SECRET_ARN',
  /** Workspaces and per-turn temp directories (worker); the image sets it, under /tmp. */
  dataDir: 'DATA_DIR',
  /** The agent's files (worker); the image sets it. */
  agentDir: 'AGENT_DIR',
} as const;
