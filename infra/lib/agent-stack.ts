import { Annotations, CfnOutput, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Alarms } from './alarms.js';
import { WebhookApi } from './api.js';
import { configuredModelIds, type InfraConfig } from './config.js';
import { Functions } from './functions.js';
import { Queueing } from './queueing.js';
import { BotSecrets } from './secrets.js';
import { Storage } from './storage.js';

export interface AgentStackProps extends StackProps {
  config: InfraConfig;
}

/**
 * The whole AWS deployment in one stack: API Gateway -> ingress Lambda ->
 * SQS FIFO (+ DLQ, its consumer and the parked queue) -> worker Lambda
 * (container) -> DynamoDB + S3, with
 * secrets, alarms and least-privilege roles.
 */
export class AgentStack extends Stack {
  readonly storage: Storage;
  readonly queueing: Queueing;
  readonly secrets: BotSecrets;
  readonly functions: Functions;
  readonly webhookApi: WebhookApi;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: AgentStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy =
      config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    Tags.of(this).add('app', 'telegram-claude-agent');

    this.storage = new Storage(this, 'Storage', {
      sessionTtlDays: config.sessionTtlDays,
      removalPolicy,
      autoDeleteObjects: config.autoDeleteObjects,
    });
    this.queueing = new Queueing(this, 'Queueing', config.queue);
    this.secrets = new BotSecrets(this, 'Secrets', {
      anthropicApiKey: config.model.provider === 'anthropic',
      transcriptionApiKey: config.media.transcription?.apiKey === true,
      removalPolicy,
    });
    this.functions = new Functions(this, 'Functions', {
      config,
      table: this.storage.table,
      bucket: this.storage.bucket,
      queue: this.queueing.queue,
      deadLetterQueue: this.queueing.deadLetterQueue,
      parkedQueue: this.queueing.parkedQueue,
      secrets: this.secrets,
      removalPolicy,
    });
    this.webhookApi = new WebhookApi(this, 'Webhook', {
      ingress: this.functions.ingress,
      rateLimit: config.ingress.rateLimit,
      burstLimit: config.ingress.burstLimit,
      logRetention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy,
      metricNamespace: config.stackName,
    });
    const bedrock = config.model.provider === 'bedrock';
    if (bedrock && config.region === undefined) {
      // The profile prefix is checked against the region at synth; without one it cannot be.
      Annotations.of(this).addWarningV2(
        'telegram-claude-agent:model-region',
        `No region configured: the model ids (${config.model.id}) assume a US region. Set region (or INFRA_REGION / AWS_REGION) so synth can check them.`,
      );
    }
    this.alarms = new Alarms(this, 'Alarms', {
      queue: this.queueing.queue,
      deadLetterQueue: this.queueing.deadLetterQueue,
      parkedQueue: this.queueing.parkedQueue,
      ingress: this.functions.ingress,
      worker: this.functions.worker,
      deadLetters: this.functions.deadLetters,
      webhook: this.webhookApi,
      workerTimeoutSeconds: config.worker.timeoutSeconds,
      bedrockModelIds: bedrock ? configuredModelIds(config.model) : [],
      email: config.alarmEmail,
      budgetMonthlyUsd: config.budgetMonthlyUsd,
    });

    const botToken = this.secrets.botToken.secretArn;
    const webhookSecret = this.secrets.webhookSecret.secretArn;
    new CfnOutput(this, 'WebhookUrl', { value: this.webhookApi.webhookUrl });
    new CfnOutput(this, 'BotTokenSecretArn', { value: botToken });
    new CfnOutput(this, 'WebhookSecretArn', { value: webhookSecret });
    if (this.secrets.anthropicApiKey) {
      new CfnOutput(this, 'AnthropicApiKeySecretArn', {
        value: this.secrets.anthropicApiKey.secretArn,
      });
    }
    new CfnOutput(this, 'RegisterWebhookCommand', {
      description:
        'Run once the bot token is set (and again after the URL or the webhook secret changes)',
      value: `npm run register-webhook -- --url ${this.webhookApi.webhookUrl} --token-secret-arn ${botToken} --webhook-secret-arn ${webhookSecret}`,
    });
    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    new CfnOutput(this, 'TranscriptBucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'JobQueueUrl', { value: this.queueing.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.queueing.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'ParkedQueueUrl', {
      description:
        'Dead letters wait here for inspection and redrive (infra/README.md, Dead letters)',
      value: this.queueing.parkedQueue.queueUrl,
    });
    new CfnOutput(this, 'ParkedQueueArn', { value: this.queueing.parkedQueue.queueArn });
    new CfnOutput(this, 'JobQueueArn', { value: this.queueing.queue.queueArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'WorkerFunctionName', { value: this.functions.worker.functionName });
    new CfnOutput(this, 'IngressFunctionName', { value: this.functions.ingress.functionName });
    new CfnOutput(this, 'WorkerLogGroup', {
      description: 'aws logs tail <this> --follow',
      value: this.functions.workerLogs.logGroupName,
    });
    new CfnOutput(this, 'IngressLogGroup', { value: this.functions.ingressLogs.logGroupName });
  }
}
