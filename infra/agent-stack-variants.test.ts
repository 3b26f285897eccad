import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthTemplate } from './synth-for-tests.js';

// The other branches of the config, in one synth: Anthropic API instead of
// Bedrock, a prebuilt worker image, limits, access lists, alarm email, and a
// stack that cleans up after itself.
let template: Template;
let resources: Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }
>;

beforeAll(() => {
  template = synthTemplate({
    stackName: 'AgentStaging',
    region: 'eu-west-1',
    model: { provider: 'anthropic', id: 'claude-sonnet-4-5' },
    sessionTtlDays: 10,
    worker: {
      memoryMiB: 3008,
      timeoutSeconds: 600,
      reservedConcurrency: 5,
      maxConcurrency: 4,
      batchSize: 5,
      image: { repositoryName: 'agent-worker', tagOrDigest: 'v42' },
      modelNoticeSeconds: 60,
      modelMaxRetries: 0,
      turnTimeLimitMinutes: 9,
      workspaceMaxFiles: 100,
      workspaceMaxMiB: 64,
    },
    ingress: { reservedConcurrency: 'off' },
    budgetMonthlyUsd: 40,
    queue: { maxAttempts: 5, maxReceiveCount: 12, visibilityTimeoutSeconds: 3600 },
    access: { allowedUserIds: ['111', '222'], allowedChatIds: ['-1001234'] },
    alarmEmail: 'ops@example.com',
    logRetentionDays: 14,
    removalPolicy: 'destroy',
    autoDeleteObjects: true,
  }).template;
  resources = template.toJSON().Resources;
});

function agentFunctions(): Array<Record<string, unknown>> {
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((resource) => resource.Properties ?? {})
    .filter((properties) => properties.Architectures !== undefined);
}

const worker = () =>
  agentFunctions().find((properties) => properties.PackageType === 'Image') ?? {};
const ingress = () =>
  agentFunctions().find((properties) => properties.PackageType !== 'Image') ?? {};
const variables = (properties: Record<string, unknown>) =>
  (properties.Environment as { Variables: Record<string, unknown> }).Variables;

describe('model provider anthropic', () => {
  it('creates an API key secret and gives the worker its ARN, not Bedrock', () => {
    const secrets = Object.entries(resources).filter(
      ([, resource]) => resource.Type === 'AWS::SecretsManager::Secret',
    );
    expect(secrets.map(([id]) => id)).toEqual(
      expect.arrayContaining([expect.stringMatching(/AnthropicApiKey/)]),
    );
    const [apiKeyId] = secrets.map(([id]) => id).filter((id) => id.includes('AnthropicApiKey'));
    expect(variables(worker())).toMatchObject({
      ANTHROPIC_API_KEY_SECRET_ARN: { Ref: apiKeyId },
      ANTHROPIC_MODEL: 'claude-sonnet-4-5',
    });
    expect(variables(worker()).CLAUDE_CODE_USE_BEDROCK).toBeUndefined();
    expect(variables(ingress()).ANTHROPIC_API_KEY_SECRET_ARN).toBeUndefined();
    expect(JSON.stringify(template.toJSON())).not.toContain('bedrock:Invoke');
  });
});

describe('worker', () => {
  it('runs the prebuilt image from ECR with the configured limits', () => {
    expect(worker()).toMatchObject({
      MemorySize: 3008,
      Timeout: 600,
      ReservedConcurrentExecutions: 5,
    });
    expect(JSON.stringify(worker().Code)).toContain('/agent-worker:v42');
    expect(JSON.stringify(worker().Code)).not.toContain('container-assets');
  });

  it('reads batches of 5 with the event source capped at 4 concurrent workers', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 4 },
    });
  });

  it('uses the configured visibility timeout, receive count and attempts', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 3600,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 12 }),
    });
    expect(variables(worker()).JOB_MAX_ATTEMPTS).toBe('5');
  });
});

describe('access, retention, alarms, removal', () => {
  it('passes the allow-lists to both Lambdas', () => {
    for (const properties of [ingress(), worker()]) {
      expect(variables(properties)).toMatchObject({
        TELEGRAM_ALLOWED_USER_IDS: '111,222',
        TELEGRAM_ALLOWED_CHAT_IDS: '-1001234',
        TELEGRAM_ALLOW_EVERYONE: 'false',
        SESSION_TTL_DAYS: '10',
      });
    }
  });

  it('expires transcript objects after the shorter TTL plus the refresh window', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 15 })]),
      },
    });
  });

  it('keeps logs for 14 days', () => {
    const groups = Object.values(resources).filter(
      (resource) => resource.Type === 'AWS::Logs::LogGroup',
    );
    expect(groups.length).toBeGreaterThanOrEqual(3);
    for (const group of groups) expect(group.Properties?.RetentionInDays).toBe(14);
  });

  it('subscribes the alarm email to the alarm topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('deletes the table and empties the bucket on destroy', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
  });
});

describe('new-account and failure settings', () => {
  it('reserves nothing for the ingress when told "off" (an account whose quota is 10)', () => {
    const ingresses = agentFunctions().filter((properties) =>
      String(properties.Description).startsWith('Telegram webhook'),
    );
    expect(ingresses).toHaveLength(1);
    expect(ingresses[0]?.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('passes the model-failure bounds to the worker', () => {
    expect(variables(worker())).toMatchObject({
      MODEL_NOTICE_SECONDS: '60',
      MODEL_MAX_RETRIES: '0',
      TURN_TIME_LIMIT_MINUTES: '9',
    });
    // Claude Code picks its own small fast model on the Anthropic API.
    expect(variables(worker()).ANTHROPIC_DEFAULT_HAIKU_MODEL).toBeUndefined();
  });

  it('passes the workspace limits to the worker', () => {
    expect(variables(worker())).toMatchObject({
      WORKSPACE_MAX_FILES: '100',
      WORKSPACE_MAX_MB: '64',
    });
  });

  it('alarms on no Bedrock model with the Anthropic API', () => {
    expect(JSON.stringify(template.toJSON())).not.toContain('AWS/Bedrock');
  });

  it('sends the monthly budget to the alarm topic, which lets AWS Budgets publish', () => {
    const topic = Object.entries(resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')?.[0];
    template.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: Match.objectLike({
        BudgetType: 'COST',
        TimeUnit: 'MONTHLY',
        BudgetLimit: { Amount: 40, Unit: 'USD' },
      }),
      NotificationsWithSubscribers: Match.arrayWith([
        Match.objectLike({
          Notification: Match.objectLike({ NotificationType: 'ACTUAL', Threshold: 80 }),
          Subscribers: [{ SubscriptionType: 'SNS', Address: { Ref: topic } }],
        }),
      ]),
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sns:Publish',
            Principal: { Service: 'budgets.amazonaws.com' },
          }),
        ]),
      }),
    });
  });
});
