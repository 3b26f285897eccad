import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { referencedIds, synthTemplate } from './synth-for-tests.js';

// One synth for the whole file, with the defaults (no config file).
let template: Template;
let resources: Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }
>;

beforeAll(() => {
  template = synthTemplate().template;
  resources = template.toJSON().Resources;
});

function logicalIdsOf(type: string): string[] {
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id]) => id);
}

function onlyId(
  type: string,
  predicate: (properties: Record<string, unknown>) => boolean = () => true,
): string {
  const ids = logicalIdsOf(type).filter((id) => predicate(resources[id]?.Properties ?? {}));
  expect(ids, type).toHaveLength(1);
  return ids[0] as string;
}

function functions(): Array<[string, Record<string, unknown>]> {
  return logicalIdsOf('AWS::Lambda::Function').map((id) => [id, resources[id]?.Properties ?? {}]);
}

function environmentOf(id: string): Record<string, unknown> {
  const environment = resources[id]?.Properties?.Environment as
    | { Variables: Record<string, unknown> }
    | undefined;
  return environment?.Variables ?? {};
}

const workerId = () =>
  onlyId('AWS::Lambda::Function', (properties) => properties.PackageType === 'Image');
const ingressId = () =>
  onlyId('AWS::Lambda::Function', (properties) =>
    String(properties.Description).startsWith('Telegram webhook'),
  );
const deadLetterConsumerId = () =>
  onlyId('AWS::Lambda::Function', (properties) =>
    String(properties.Description).startsWith('Dead letters'),
  );
/** The end of the line: the only queue without a dead-letter queue of its own. */
const parkedQueueId = () =>
  onlyId('AWS::SQS::Queue', (properties) => properties.RedrivePolicy === undefined);
const queueId = (name: 'Jobs' | 'DeadLetters') => {
  const ids = logicalIdsOf('AWS::SQS::Queue').filter((id) => id.startsWith(`Queueing${name}`));
  expect(ids, name).toHaveLength(1);
  return ids[0] as string;
};
const deadLetterQueueId = () => queueId('DeadLetters');

describe('queueing', () => {
  it('is a FIFO queue with explicit deduplication and a FIFO dead-letter queue after 13 receives (3 attempts + 10)', () => {
    template.resourceCountIs('AWS::SQS::Queue', 3);
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueueId(), 'Arn'] },
        maxReceiveCount: 13,
      },
    });
    expect(resources[queueId('Jobs')]?.Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueueId(), 'Arn'] },
      maxReceiveCount: 13,
    });
    expect(resources[deadLetterQueueId()]?.Properties).toMatchObject({
      FifoQueue: true,
      MessageRetentionPeriod: 14 * 86_400,
    });
  });

  it('parks dead letters in a third FIFO queue, the dead-letter queue of the dead-letter queue, so they can be redriven', () => {
    // A redrive (StartMessageMoveTask) must start from a queue that is some queue's dead-letter queue.
    expect(resources[deadLetterQueueId()]?.Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [parkedQueueId(), 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(resources[parkedQueueId()]?.Properties).toMatchObject({
      FifoQueue: true,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86_400,
    });
  });

  it('feeds the dead-letter queue to its consumer, which may only park, never delete, what it read', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: deadLetterConsumerId() },
      EventSourceArn: { 'Fn::GetAtt': [deadLetterQueueId(), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // Exactly two event sources: the job queue's worker and this one; nothing consumes the parked queue.
    const sources = logicalIdsOf('AWS::Lambda::EventSourceMapping').map((id) =>
      referencedIds(resources[id]?.Properties?.EventSourceArn),
    );
    expect(sources.flat().sort()).toEqual([deadLetterQueueId(), queueId('Jobs')].sort());
    expect(environmentOf(deadLetterConsumerId())).toMatchObject({
      PARKED_QUEUE_URL: { Ref: parkedQueueId() },
      TABLE_NAME: { Ref: onlyId('AWS::DynamoDB::Table') },
    });
  });

  it('keeps a message invisible for at least 1.2 x the worker timeout', () => {
    const worker = resources[workerId()]?.Properties as { Timeout: number };
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.anyValue(),
      VisibilityTimeout: Math.ceil(worker.Timeout * 1.2),
    });
  });

  it('feeds the worker with batch item failures reported, the waiting messages of a conversation together', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: workerId() },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('QueueingJobs'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
  });

  it('refuses plain HTTP to every queue', () => {
    const policies = logicalIdsOf('AWS::SQS::QueuePolicy');
    expect(policies).toHaveLength(3);
    for (const id of policies) {
      expect(JSON.stringify(resources[id]?.Properties)).toContain('"aws:SecureTransport":"false"');
    }
  });
});

describe('storage', () => {
  it('is one on-demand table with pk/sk, no index, TTL on expiresAt and point-in-time recovery', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      // An index under one partition value would throttle every conversation write.
      GlobalSecondaryIndexes: Match.absent(),
      DeletionProtectionEnabled: true,
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });

  it('sets no workspace limits on the worker unless configured (the store has defaults)', () => {
    const variables = environmentOf(workerId());
    expect(variables.WORKSPACE_MAX_FILES).toBeUndefined();
    expect(variables.WORKSPACE_MAX_MB).toBeUndefined();
    expect(variables.TRANSCRIPT_BUCKET).toEqual({ Ref: expect.any(String) });
  });

  it('encrypts the bucket, blocks public access and expires objects after the TTL plus the refresh window', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Status: 'Enabled',
            ExpirationInDays: 30,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          }),
        ]),
      },
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('denies any request to the bucket that is not over TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('secrets', () => {
  it('creates the bot token and webhook secret with generated values only, never a literal', () => {
    const secrets = logicalIdsOf('AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(2);
    for (const id of secrets) {
      const properties = resources[id]?.Properties ?? {};
      expect(properties.SecretString, id).toBeUndefined();
      expect(properties.GenerateSecretString, id).toBeDefined();
    }
  });

  it('gives the Lambdas secret ARNs, never secret values', () => {
    const secretIds = new Set(logicalIdsOf('AWS::SecretsManager::Secret'));
    for (const [id, properties] of functions()) {
      const variables = (properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
      for (const [name, value] of Object.entries(variables)) {
        if (/TOKEN|KEY|SECRET|PASSWORD|CREDENTIAL/i.test(name)) {
          // Such a variable may only carry a reference to a secret of this stack.
          expect(name, `${id} ${name}`).toMatch(/_SECRET_ARN$/);
          expect(value, `${id} ${name}`).toEqual({ Ref: expect.any(String) });
          expect(secretIds.has((value as { Ref: string }).Ref), `${id} ${name}`).toBe(true);
        } else if (typeof value === 'string') {
          // Literal values are settings: no token- or key-shaped strings.
          expect(value, `${id} ${name}`).not.toMatch(/^\d+:[A-Za-z0-9_-]{30,}$|^sk-ant-|^AKIA/);
        }
      }
    }
  });

  it('lets the ingress read both secrets, the worker and the dead-letter consumer only the bot token', () => {
    const readers = (secretId: string) =>
      logicalIdsOf('AWS::IAM::Policy').filter((policyId) =>
        JSON.stringify(resources[policyId]?.Properties).includes(`{"Ref":"${secretId}"}`),
      );
    const [botToken] = logicalIdsOf('AWS::SecretsManager::Secret').filter((id) =>
      id.includes('BotToken'),
    );
    const [webhook] = logicalIdsOf('AWS::SecretsManager::Secret').filter((id) =>
      id.includes('WebhookSecret'),
    );
    expect(readers(botToken as string)).toHaveLength(3);
    expect(readers(webhook as string)).toEqual([expect.stringMatching(/Ingress/)]);
  });
});

describe('functions', () => {
  it('runs every Lambda on ARM64 with JSON logs into their own log group', () => {
    const logGroups = new Set(logicalIdsOf('AWS::Logs::LogGroup'));
    expect(functions()).toHaveLength(3);
    for (const [id, properties] of functions()) {
      expect(properties.Architectures, id).toEqual(['arm64']);
      const logging = properties.LoggingConfig as { LogFormat: string; LogGroup: unknown };
      expect(logging.LogFormat, id).toBe('JSON');
      const [logGroup] = referencedIds(logging.LogGroup);
      expect(logGroups.has(logGroup as string), id).toBe(true);
    }
  });

  it('keeps every log group for the configured retention', () => {
    const logGroups = logicalIdsOf('AWS::Logs::LogGroup');
    expect(logGroups.length).toBeGreaterThanOrEqual(3);
    for (const id of logGroups) expect(resources[id]?.Properties?.RetentionInDays, id).toBe(30);
  });

  it('bundles the ingress for Node 22 with a short timeout', () => {
    expect(resources[ingressId()]?.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Timeout: 10,
      MemorySize: 512,
    });
  });

  it('runs the worker from an image with room for turns', () => {
    const properties = resources[workerId()]?.Properties ?? {};
    expect(properties).toMatchObject({
      PackageType: 'Image',
      MemorySize: 1024,
      Timeout: 900,
      EphemeralStorage: { Size: 2048 },
    });
    expect(properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(JSON.stringify(properties.Code)).toContain('container-assets');
  });

  it('tells the worker to use Bedrock and the model, and the table and bucket by name', () => {
    const variables = environmentOf(workerId());
    expect(variables).toMatchObject({
      CLAUDE_CODE_USE_BEDROCK: '1',
      ANTHROPIC_MODEL: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      JOB_MAX_ATTEMPTS: '3',
      SESSION_TTL_DAYS: '25',
      TABLE_NAME: { Ref: onlyId('AWS::DynamoDB::Table') },
      TRANSCRIPT_BUCKET: { Ref: onlyId('AWS::S3::Bucket') },
    });
    expect(variables.ANTHROPIC_API_KEY_SECRET_ARN).toBeUndefined();
    expect(variables.AWS_REGION).toBeUndefined();
  });
});

describe('IAM', () => {
  const policies = () =>
    logicalIdsOf('AWS::IAM::Policy').map((id) => {
      const properties = resources[id]?.Properties as {
        PolicyDocument: {
          Statement: Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }>;
        };
        Roles: unknown;
      };
      return {
        id,
        statements: properties.PolicyDocument.Statement,
        roles: referencedIds(properties.Roles),
      };
    });

  it('has no statement on Resource "*" and every resource is one of this stack or a configured model', () => {
    const stackIds = new Set(Object.keys(resources));
    for (const policy of policies()) {
      for (const statement of policy.statements) {
        const list = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        for (const resource of list) {
          const where = `${policy.id} ${JSON.stringify(statement.Action)} ${JSON.stringify(resource)}`;
          expect(resource, where).not.toBe('*');
          const refs = referencedIds(resource).filter((ref) => !ref.startsWith('AWS::'));
          const bedrock = JSON.stringify(resource).includes(':bedrock:');
          expect(refs.length > 0 || bedrock, where).toBe(true);
          for (const ref of refs) expect(stackIds.has(ref), where).toBe(true);
        }
      }
    }
  });

  it('attaches no managed policies (AWSLambdaBasicExecutionRole would allow every log group)', () => {
    for (const id of logicalIdsOf('AWS::IAM::Role')) {
      expect(resources[id]?.Properties?.ManagedPolicyArns, id).toBeUndefined();
    }
  });

  it('lets the ingress only send to the queue, read its secrets, write dedupe items and its logs', () => {
    const ingressRole = referencedIds(resources[ingressId()]?.Properties?.Role)[0];
    const ingress = policies().filter((policy) => policy.roles.includes(ingressRole as string));
    const actions = ingress
      .flatMap((policy) => policy.statements.flatMap((statement) => statement.Action))
      .sort();
    expect(actions).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'sqs:SendMessage',
    ]);
    const dynamo = ingress
      .flatMap((policy) => policy.statements)
      .find((statement) => String(statement.Action).includes('dynamodb'));
    expect(dynamo?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['D#*', 'R#*'] },
    });
    expect(dynamo?.Resource).toEqual({ 'Fn::GetAtt': [onlyId('AWS::DynamoDB::Table'), 'Arn'] });
  });

  it('lets the worker send to the job queue (a continuation on the conversation lane)', () => {
    const role = referencedIds(resources[workerId()]?.Properties?.Role)[0];
    const sends = policies()
      .filter((policy) => policy.roles.includes(role as string))
      .flatMap((policy) => policy.statements)
      .filter((statement) => JSON.stringify(statement.Action).includes('sqs:SendMessage'));
    expect(sends.map((statement) => referencedIds(statement.Resource))).toEqual([
      [queueId('Jobs')],
    ]);
  });

  it('lets the dead-letter consumer write only outbox and attempt items and send only to the parked queue', () => {
    const role = referencedIds(resources[deadLetterConsumerId()]?.Properties?.Role)[0];
    const statements = policies()
      .filter((policy) => policy.roles.includes(role as string))
      .flatMap((policy) => policy.statements);
    const dynamo = statements.filter((statement) => String(statement.Action).includes('dynamodb'));
    expect(dynamo).toHaveLength(1);
    expect(dynamo[0]?.Action).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(dynamo[0]?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['O#*', 'J#*'] },
    });
    const sends = statements.filter((statement) =>
      JSON.stringify(statement.Action).includes('sqs:SendMessage'),
    );
    expect(sends.map((statement) => referencedIds(statement.Resource))).toEqual([
      [parkedQueueId()],
    ]);
    // Reading and deleting from the dead-letter queue is the event source's, and only there.
    const deletes = statements.filter((statement) =>
      JSON.stringify(statement.Action).includes('sqs:DeleteMessage'),
    );
    expect(deletes.flatMap((statement) => referencedIds(statement.Resource))).toEqual([
      deadLetterQueueId(),
    ]);
  });

  it('alarms when dead letters wait for their consumer', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterQueueId(), 'QueueName'] } },
      ],
      Threshold: 900,
    });
  });

  it('lets the worker invoke only the configured Bedrock models', () => {
    const bedrock = policies()
      .flatMap((policy) => policy.statements)
      .filter((statement) => JSON.stringify(statement.Action).includes('bedrock'));
    expect(bedrock).toHaveLength(1);
    expect([bedrock[0]?.Action].flat().sort()).toEqual([
      // The model gateway forwards Claude Code's token counting.
      'bedrock:CountTokens',
      'bedrock:InvokeModel',
      'bedrock:InvokeModelWithResponseStream',
    ]);
    const arns = JSON.stringify(bedrock[0]?.Resource);
    expect(arns).toContain('inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(arns).toContain(
      ':bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
    );
    expect(arns).toContain('inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0');
    expect(arns).not.toContain('foundation-model/*');
  });
});

describe('API and alarms', () => {
  it('routes POST /telegram/webhook to the ingress, throttled, with access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'POST /telegram/webhook',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [ingressId(), 'Arn'] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('alarms on each dead letter parked, not for as long as it waits, to the alarm topic', () => {
    const parked = { Name: 'QueueName', Value: { 'Fn::GetAtt': [parkedQueueId(), 'QueueName'] } };
    const metric = (name: string) =>
      Match.objectLike({
        MetricStat: Match.objectLike({
          Metric: { Namespace: 'AWS/SQS', MetricName: name, Dimensions: [parked] },
        }),
      });
    const alarm = alarmWith(metric('NumberOfMessagesSent'));
    // Sent by the consumer, or moved in by SQS (the visible count grows): new arrivals only.
    expect(alarm.Metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Expression: 'MAX([FILL(sent, 0), FILL(DIFF(visible), 0)])' }),
      ]),
    );
    expect(JSON.stringify(alarm.Metrics)).toContain('ApproximateNumberOfMessagesVisible');
    expect(alarm).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: onlyId('AWS::SNS::Topic') }],
    });
    // No alarm stays in ALARM on the parked queue's backlog alone.
    const backlog = Object.values(resources).filter(
      (resource) =>
        resource.Type === 'AWS::CloudWatch::Alarm' &&
        resource.Properties?.MetricName === 'ApproximateNumberOfMessagesVisible',
    );
    expect(backlog).toEqual([]);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('prints the webhook URL and the register command as outputs', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.stringify(outputs.WebhookUrl?.Value)).toContain('/telegram/webhook');
    expect(JSON.stringify(outputs.RegisterWebhookCommand?.Value)).toContain(
      'npm run register-webhook -- --url',
    );
  });
});

/** The one alarm whose metrics (a math expression's) include one matching `metric`. */
function alarmWith(metric: object): Record<string, unknown> {
  const alarms = Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm')
    .map((resource) => resource.Properties ?? {});
  const matcher = Match.objectLike({ Metrics: Match.arrayWith([metric]) });
  const matching = alarms.filter((alarm) => !matcher.test(alarm).hasFailed());
  expect(matching).toHaveLength(1);
  return matching[0] as Record<string, unknown>;
}

describe('safe defaults for a new account', () => {
  it('caps the workers the event source runs at 5 by default, and the dead-letter consumer at 2', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: workerId() },
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: deadLetterConsumerId() },
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('reserves concurrency for the ingress, so busy workers cannot throttle the webhook', () => {
    expect(resources[ingressId()]?.Properties?.ReservedConcurrentExecutions).toBe(2);
  });

  it('starts the ingress without source maps (its cold start is what Telegram waits on)', () => {
    expect(environmentOf(ingressId()).NODE_OPTIONS).toBeUndefined();
  });

  it('leaves the model-failure bounds to the runtime unless configured', () => {
    const variables = environmentOf(workerId());
    expect(variables.MODEL_NOTICE_SECONDS).toBeUndefined();
    expect(variables.MODEL_MAX_RETRIES).toBeUndefined();
    expect(variables.TURN_TIME_LIMIT_MINUTES).toBeUndefined();
  });
});

describe('Bedrock models', () => {
  it('tells Claude Code the small fast model the role may call, from one value', () => {
    const haiku = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
    expect(environmentOf(workerId()).ANTHROPIC_DEFAULT_HAIKU_MODEL).toBe(haiku);
    const invoke = Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .flatMap(
        (resource) =>
          (
            resource.Properties?.PolicyDocument as
              | { Statement: Array<{ Sid?: string }> }
              | undefined
          )?.Statement ?? [],
      )
      .find((statement) => statement.Sid === 'InvokeConfiguredModels');
    expect(JSON.stringify(invoke)).toContain(`inference-profile/${haiku}`);
  });
});

describe('alarms that fire', () => {
  const ref = (id: string) => ({ Ref: id });

  it('alarms on the webhook answering 5xx (the ingress answers failures, it does not throw)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: ref(onlyId('AWS::ApiGatewayV2::Api')) }],
      Statistic: 'Sum',
      AlarmActions: [ref(onlyId('AWS::SNS::Topic'))],
    });
  });

  it("alarms on the webhook answering 429, counted from the stage's access logs", () => {
    const filters = logicalIdsOf('AWS::Logs::MetricFilter');
    expect(filters).toHaveLength(1);
    const filter = resources[filters[0] as string]?.Properties as {
      FilterPattern: string;
      MetricTransformations: Array<{ MetricName: string; MetricNamespace: string }>;
    };
    expect(filter.FilterPattern).toBe('{ $.status = "429" }');
    const [transformation] = filter.MetricTransformations;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: transformation?.MetricNamespace,
      MetricName: transformation?.MetricName,
      Threshold: 1,
      AlarmActions: [ref(onlyId('AWS::SNS::Topic'))],
    });
  });

  it('alarms when Lambda throttles the ingress or the worker', () => {
    for (const id of [ingressId(), workerId()]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: [{ Name: 'FunctionName', Value: ref(id) }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('alarms when Bedrock throttles any configured model', () => {
    const throttles = (modelId: string) =>
      Match.objectLike({
        MetricStat: Match.objectLike({
          Metric: {
            Namespace: 'AWS/Bedrock',
            MetricName: 'InvocationThrottles',
            Dimensions: [{ Name: 'ModelId', Value: modelId }],
          },
        }),
      });
    const alarm = alarmWith(throttles('us.anthropic.claude-sonnet-4-5-20250929-v1:0'));
    expect(alarmWith(throttles('us.anthropic.claude-haiku-4-5-20251001-v1:0'))).toBe(alarm);
    expect(alarm).toMatchObject({ Threshold: 1, AlarmActions: [ref(onlyId('AWS::SNS::Topic'))] });
  });

  it('makes no budget unless one is configured', () => {
    template.resourceCountIs('AWS::Budgets::Budget', 0);
  });
});
