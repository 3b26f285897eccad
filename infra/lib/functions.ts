import { Aws, Duration, type RemovalPolicy, Size } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONVERSATION_KEY_PREFIX } from '../../src/adapters/aws/dynamo-conversation-index.js';
import { JOB_ATTEMPTS_KEY_PREFIX } from '../../src/adapters/aws/dynamo-job-attempts.js';
import { REPLY_OUTBOX_KEY_PREFIX } from '../../src/adapters/aws/dynamo-reply-outbox.js';
import { TURN_CONTROL_KEY_PREFIX } from '../../src/adapters/aws/dynamo-turn-control.js';
import { DEDUPE_KEY_PREFIX } from '../../src/adapters/aws/dynamo-update-dedupe.js';
import { HANDLER_ENV } from '../../src/entrypoints/aws/handler-env.js';
import { bedrockResourceArns } from './bedrock-resources.js';
import { DEAD_LETTER_SOURCE_MAPS, INGRESS_SOURCE_MAPS, ZIP_BUNDLE } from './bundling.js';
import { configuredModelIds, type InfraConfig } from './config.js';
import {
  DEAD_LETTER_ENTRY,
  INGRESS_ENTRY,
  LOCK_FILE,
  REPO_ROOT,
  TSCONFIG,
  WORKER_DOCKERFILE,
} from './paths.js';
import type { BotSecrets } from './secrets.js';

export interface FunctionsProps {
  config: InfraConfig;
  table: dynamodb.Table;
  bucket: s3.Bucket;
  queue: sqs.Queue;
  /** Fed to the dead-letter consumer. */
  deadLetterQueue: sqs.Queue;
  /** Where the dead-letter consumer parks what it consumed (the redrive source). */
  parkedQueue: sqs.Queue;
  secrets: BotSecrets;
  removalPolicy: RemovalPolicy;
}

/** The dead-letter consumer's timeout; the dead-letter queue's visibility timeout is 6x. */
export const DEAD_LETTER_TIMEOUT_SECONDS = 60;

/** esbuild options of the zip-packaged functions (bundled on the synthesizing machine, no Docker). */
function bundling(sourceMaps: boolean): nodejs.BundlingOptions {
  return {
    format: nodejs.OutputFormat.ESM,
    target: ZIP_BUNDLE.target,
    // Bundle everything, the AWS SDK included: one minified file loads
    // faster than the runtime's SDK, and pins the version we tested.
    externalModules: [],
    mainFields: [...ZIP_BUNDLE.mainFields],
    minify: ZIP_BUNDLE.minify,
    sourceMap: sourceMaps,
    sourcesContent: false,
    tsconfig: TSCONFIG,
    banner: ZIP_BUNDLE.banner,
  };
}

/**
 * An IAM statement on the shared table limited to items whose partition key
 * starts with one of the prefixes (each adapter prefixes its keys), so a
 * role reaches only its own kinds of item.
 */
function itemsWithKeyPrefixes(
  sid: string,
  table: dynamodb.ITable,
  actions: string[],
  prefixes: string[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: actions.map((action) => `dynamodb:${action}`),
    resources: [table.tableArn],
    conditions: {
      'ForAllValues:StringLike': {
        'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`),
      },
    },
  });
}

/**
 * The Lambdas. The ingress is a small esbuild bundle that answers Telegram
 * fast; the worker is a container image because the agent SDK's CLI binary
 * alone is ~380 MB, past the 250 MB limit of a zip package; the dead-letter
 * consumer is another small bundle (no agent: it only tells the person and
 * parks the job).
 */
export class Functions extends Construct {
  readonly ingress: nodejs.NodejsFunction;
  readonly worker: lambda.DockerImageFunction;
  readonly deadLetters: nodejs.NodejsFunction;
  readonly ingressLogs: logs.LogGroup;
  readonly workerLogs: logs.LogGroup;
  readonly deadLetterLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const { config, table, bucket, queue, secrets } = props;
    const retention = config.logRetentionDays as logs.RetentionDays;
    const access = accessEnvironment(config);

    this.ingressLogs = new logs.LogGroup(this, 'IngressLogs', {
      retention,
      removalPolicy: props.removalPolicy,
    });
    const ingressLogs = this.ingressLogs;
    this.ingress = new nodejs.NodejsFunction(this, 'Ingress', {
      role: functionRole(this, 'IngressRole', ingressLogs),
      description: 'Telegram webhook: verify, dedupe, enqueue on the conversation FIFO group',
      entry: INGRESS_ENTRY,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: config.ingress.memoryMiB,
      timeout: Duration.seconds(config.ingress.timeoutSeconds),
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      bundling: bundling(INGRESS_SOURCE_MAPS),
      // Busy workers must never throttle the webhook (config.ts: ingress.reservedConcurrency).
      reservedConcurrentExecutions:
        config.ingress.reservedConcurrency === 'off'
          ? undefined
          : config.ingress.reservedConcurrency,
      environment: {
        ...(INGRESS_SOURCE_MAPS ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        [HANDLER_ENV.tableName]: table.tableName,
        [HANDLER_ENV.jobQueueUrl]: queue.queueUrl,
        [HANDLER_ENV.botTokenSecretArn]: secrets.botToken.secretArn,
        [HANDLER_ENV.webhookSecretArn]: secrets.webhookSecret.secretArn,
        ...access,
      },
      logGroup: ingressLogs,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
    });

    // Least privilege: send to the one queue (its URL comes from the
    // environment, so not even GetQueueUrl), read its two secrets, and write
    // dedupe records only (claim with a conditional put, commit with an
    // update, forget with a delete when the enqueue fails so that Telegram's
    // retry is not dropped as a duplicate), and mark a running turn stopped
    // (`/stop` must not wait behind that turn in its FIFO group). LeadingKeys
    // keeps it off every other item in the shared table.
    queue.grant(this.ingress, 'sqs:SendMessage');
    secrets.botToken.grantRead(this.ingress);
    secrets.webhookSecret.grantRead(this.ingress);
    this.ingress.addToRolePolicy(
      itemsWithKeyPrefixes(
        'DedupeAndStopRecordsOnly',
        table,
        ['PutItem', 'UpdateItem', 'DeleteItem'],
        [DEDUPE_KEY_PREFIX, TURN_CONTROL_KEY_PREFIX],
      ),
    );
    // Control messages are answered here (ControlAnswerSink): /status reads the
    // conversation's record and running turn; the answer goes through the
    // reply outbox, exactly once.
    this.ingress.addToRolePolicy(
      itemsWithKeyPrefixes(
        'ReadForControlAnswers',
        table,
        ['GetItem'],
        [CONVERSATION_KEY_PREFIX, TURN_CONTROL_KEY_PREFIX, REPLY_OUTBOX_KEY_PREFIX],
      ),
    );
    this.ingress.addToRolePolicy(
      itemsWithKeyPrefixes(
        'WriteControlAnswers',
        table,
        ['PutItem', 'UpdateItem'],
        [REPLY_OUTBOX_KEY_PREFIX],
      ),
    );

    this.workerLogs = new logs.LogGroup(this, 'WorkerLogs', {
      retention,
      removalPolicy: props.removalPolicy,
    });
    const workerLogs = this.workerLogs;
    const modelEnvironment: Record<string, string> =
      config.model.provider === 'bedrock'
        ? { [HANDLER_ENV.useBedrock]: '1' }
        : secrets.anthropicApiKey
          ? { [HANDLER_ENV.anthropicApiKeySecretArn]: secrets.anthropicApiKey.secretArn }
          : {};
    if (config.model.id) modelEnvironment[HANDLER_ENV.model] = config.model.id;
    // The same value the Bedrock grant below is made from.
    if (config.model.smallFastId)
      modelEnvironment[HANDLER_ENV.smallFastModel] = config.model.smallFastId;
    const failureEnvironment = setVariables({
      [HANDLER_ENV.modelNoticeSeconds]: config.worker.modelNoticeSeconds,
      [HANDLER_ENV.modelMaxRetries]: config.worker.modelMaxRetries,
      [HANDLER_ENV.turnTimeLimitMinutes]: config.worker.turnTimeLimitMinutes,
      [HANDLER_ENV.maxContinuations]: config.worker.maxContinuations,
      // Only the worker waits for answers; the ingress checks a press against the stored question.
      [HANDLER_ENV.questionTimeoutMinutes]: config.worker.questionTimeoutMinutes,
    });

    // The conversations' files go to the same bucket, under workspaces/ (S3WorkspaceStore).
    const workspaceEnvironment = setVariables({
      [HANDLER_ENV.workspaceMaxFiles]: config.worker.workspaceMaxFiles,
      [HANDLER_ENV.workspaceMaxMegabytes]: config.worker.workspaceMaxMiB,
    });

    // Files people send: the download cap and speech to text (its key by ARN, never the value).
    const { transcription } = config.media;
    const mediaEnvironment = setVariables({
      [HANDLER_ENV.maxDownloadMb]: config.media.maxDownloadMb,
      [HANDLER_ENV.transcriptionUrl]: transcription?.url,
      [HANDLER_ENV.transcriptionModel]: transcription?.model,
      [HANDLER_ENV.transcriptionApiKeySecretArn]:
        transcription && secrets.transcriptionApiKey?.secretArn,
    });

    this.worker = new lambda.DockerImageFunction(this, 'Worker', {
      role: functionRole(this, 'WorkerRole', workerLogs),
      description: 'Agent turns: one conversation per FIFO message group',
      code: workerCode(this, config),
      architecture: lambda.Architecture.ARM_64,
      memorySize: config.worker.memoryMiB,
      timeout: Duration.seconds(config.worker.timeoutSeconds),
      ephemeralStorageSize: Size.mebibytes(config.worker.ephemeralStorageMiB),
      reservedConcurrentExecutions: config.worker.reservedConcurrency,
      environment: {
        [HANDLER_ENV.tableName]: table.tableName,
        [HANDLER_ENV.transcriptBucket]: bucket.bucketName,
        [HANDLER_ENV.botTokenSecretArn]: secrets.botToken.secretArn,
        // Real attempts; the redrive policy's maxReceiveCount is well above it.
        [HANDLER_ENV.maxAttempts]: String(config.queue.maxAttempts),
        [HANDLER_ENV.sessionTtlDays]: String(config.sessionTtlDays),
        ...modelEnvironment,
        ...failureEnvironment,
        ...workspaceEnvironment,
        ...mediaEnvironment,
        ...access,
      },
      logGroup: workerLogs,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
    });
    this.worker.addEventSource(
      new SqsEventSource(queue, {
        batchSize: config.worker.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: config.worker.maxConcurrency,
      }),
    );

    table.grantReadWriteData(this.worker);
    bucket.grantReadWrite(this.worker);
    secrets.botToken.grantRead(this.worker);
    secrets.transcriptionApiKey?.grantRead(this.worker);
    // A turn cut at the deadline queues its continuation on its conversation's lane.
    queue.grantSendMessages(this.worker);
    if (config.model.provider === 'bedrock') {
      const modelIds = configuredModelIds(config.model);
      this.worker.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'InvokeConfiguredModels',
          // CountTokens: Claude Code counts tokens through the model gateway, which forwards it.
          actions: [
            'bedrock:InvokeModel',
            'bedrock:InvokeModelWithResponseStream',
            'bedrock:CountTokens',
          ],
          resources: bedrockResourceArns(modelIds, {
            partition: Aws.PARTITION,
            region: Aws.REGION,
            account: Aws.ACCOUNT_ID,
          }),
        }),
      );
    } else {
      secrets.anthropicApiKey?.grantRead(this.worker);
    }

    this.deadLetterLogs = new logs.LogGroup(this, 'DeadLetterLogs', {
      retention,
      removalPolicy: props.removalPolicy,
    });
    const deadLetterLogs = this.deadLetterLogs;
    this.deadLetters = new nodejs.NodejsFunction(this, 'DeadLetters', {
      role: functionRole(this, 'DeadLetterRole', deadLetterLogs),
      description:
        'Dead letters: tell the person once if nobody did, then park the job for redrive',
      entry: DEAD_LETTER_ENTRY,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(DEAD_LETTER_TIMEOUT_SECONDS),
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      bundling: bundling(DEAD_LETTER_SOURCE_MAPS),
      environment: {
        ...(DEAD_LETTER_SOURCE_MAPS ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        [HANDLER_ENV.tableName]: table.tableName,
        [HANDLER_ENV.botTokenSecretArn]: secrets.botToken.secretArn,
        [HANDLER_ENV.parkedQueueUrl]: props.parkedQueue.queueUrl,
      },
      logGroup: deadLetterLogs,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
    });
    // The event source deletes a dead letter once the consumer accepted it,
    // which it does only after copying it to the parked queue.
    this.deadLetters.addEventSource(
      new SqsEventSource(props.deadLetterQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        // The smallest cap: dead letters are rare, and the account's
        // concurrency belongs to the ingress and the workers.
        maxConcurrency: 2,
      }),
    );
    // Least privilege: read and write reply outbox items (the one failure
    // message, recorded before it is sent) and attempt items (the
    // dead-lettered mark a redrive is recognised by), send to the parked
    // queue, read the bot token.
    this.deadLetters.addToRolePolicy(
      itemsWithKeyPrefixes(
        'OutboxAndAttemptRecordsOnly',
        table,
        ['GetItem', 'PutItem', 'UpdateItem'],
        [REPLY_OUTBOX_KEY_PREFIX, JOB_ATTEMPTS_KEY_PREFIX],
      ),
    );
    props.parkedQueue.grantSendMessages(this.deadLetters);
    secrets.botToken.grantRead(this.deadLetters);
  }
}

/**
 * A role that may write to its own log group and nothing else yet. (The
 * default role carries AWSLambdaBasicExecutionRole, which allows creating
 * and writing any log group in the account.)
 */
function functionRole(scope: Construct, id: string, logGroup: logs.LogGroup): iam.Role {
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  logGroup.grantWrite(role);
  return role;
}

function workerCode(scope: Construct, config: InfraConfig): lambda.DockerImageCode {
  const image = config.worker.image;
  if (image) {
    const repository = ecr.Repository.fromRepositoryName(
      scope,
      'WorkerRepository',
      image.repositoryName,
    );
    return lambda.DockerImageCode.fromEcr(repository, { tagOrDigest: image.tagOrDigest });
  }
  // Synth only stages the build context (filtered by .dockerignore) and
  // hashes it; Docker runs at `cdk deploy`, when the asset is published.
  return lambda.DockerImageCode.fromImageAsset(REPO_ROOT, {
    file: WORKER_DOCKERFILE,
    platform: Platform.LINUX_ARM64,
  });
}

/** The settings that are set, as environment values; the handlers default the others. */
function setVariables(values: Record<string, string | number | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined) env[name] = String(value);
  }
  return env;
}

function accessEnvironment(config: InfraConfig): Record<string, string> {
  const env: Record<string, string> = {
    [HANDLER_ENV.allowEveryone]: String(config.access.allowEveryone),
    [HANDLER_ENV.sessionTtlDays]: String(config.sessionTtlDays),
  };
  const { allowedUserIds, allowedChatIds } = config.access;
  if (allowedUserIds.length > 0) env[HANDLER_ENV.allowedUserIds] = allowedUserIds.join(',');
  if (allowedChatIds.length > 0) env[HANDLER_ENV.allowedChatIds] = allowedChatIds.join(',');
  if (config.tenant) env[HANDLER_ENV.tenant] = config.tenant;
  return env;
}
