import { Duration, Stack } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { WebhookApi } from './api.js';

export interface AlarmsProps {
  queue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  parkedQueue: sqs.IQueue;
  ingress: lambda.IFunction;
  worker: lambda.IFunction;
  deadLetters: lambda.IFunction;
  webhook: WebhookApi;
  workerTimeoutSeconds: number;
  /** Model ids the worker calls on Bedrock (throttling alarm); empty with the Anthropic API. */
  bedrockModelIds: readonly string[];
  email: string | undefined;
  /** A monthly cost budget for the account, in USD (optional). */
  budgetMonthlyUsd?: number | undefined;
}

/** What every alarm here has in common: when it fires, and what a missing datapoint means. */
interface AlarmSpec {
  description: string;
  metric: cloudwatch.IMetric;
  threshold: number;
  /** Fire above the threshold (`>`) rather than at it (`>=`). */
  above?: boolean;
}

/** CloudWatch alarms compare at most 10 metrics; Bedrock model ids beyond that are summed in part. */
const MAX_ALARM_METRICS = 10;

/**
 * What an operator must hear about, each alarm with what to do in
 * infra/README.md (Operations): a job given up and parked (on each new
 * arrival, not for as long as it waits), dead letters the consumer is not
 * getting through, a conversation stuck behind an old message, the webhook
 * answering 5xx (the ingress answers a failure, a wrong bot token
 * included, with a 5xx rather than by throwing, so Lambda's Errors would
 * not see it) or 429 (Telegram's deliveries throttled), Lambda throttling
 * either function (the account's concurrency is used up), Bedrock
 * throttling the model, an invocation dying as a whole, and optionally the
 * month's spend. All go to one SNS topic; an email subscription is added
 * when configured.
 */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  private readonly action: actions.SnsAction;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    // Not encrypted with the AWS-managed SNS key: CloudWatch cannot publish
    // to a topic under that key. Alarm notifications carry no user content.
    this.topic = new sns.Topic(this, 'Topic', { enforceSSL: true });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    this.action = new actions.SnsAction(this.topic);
    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };

    // New arrivals only: the consumer copies each dead letter in with
    // SendMessage (NumberOfMessagesSent), and SQS moves one in itself after
    // the consumer failed on it (which NumberOfMessagesSent does not count,
    // so growth of the visible count joins it). Back to OK a period later,
    // while the message waits for its redrive: the next one alarms again.
    const parkedSent = props.parkedQueue.metricNumberOfMessagesSent({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.SUM,
    });
    const parkedVisible = props.parkedQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    this.deadLetterAlarm = this.alarm('DeadLetters', {
      description:
        'A job was given up and parked (the person was told). Inspect it, then redrive or purge (infra/README.md, Operations).',
      metric: new cloudwatch.MathExpression({
        expression: 'MAX([FILL(sent, 0), FILL(DIFF(visible), 0)])',
        usingMetrics: { sent: parkedSent, visible: parkedVisible },
        label: 'dead letters parked',
        period: Duration.minutes(1),
      }),
      threshold: 0,
      above: true,
    });

    this.alarm('DeadLettersUnconsumed', {
      description:
        'Dead letters wait longer than 15 minutes: the dead-letter consumer is failing, so people may not have been told.',
      metric: props.deadLetterQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 900,
      above: true,
    });
    this.alarm('DeadLetterConsumerErrors', {
      description: 'The dead-letter consumer failed as a whole (it could not start).',
      metric: props.deadLetters.metricErrors(fiveMinutes),
      threshold: 1,
    });
    this.alarm('OldestJob', {
      description:
        'A job has waited longer than two worker timeouts: a conversation is stuck or workers are starved.',
      metric: props.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: props.workerTimeoutSeconds * 2,
      above: true,
    });

    this.alarm('WebhookServerErrors', {
      description:
        'The webhook answered 5xx: the ingress cannot verify, store or enqueue updates (a wrong bot token, a missing secret, DynamoDB or SQS failing). Telegram retries; users wait.',
      metric: props.webhook.api.metricServerError(fiveMinutes),
      threshold: 3,
    });
    this.alarm('WebhookThrottled', {
      description:
        "The webhook answered 429: the API stage's throttle (ingress.rateLimit, burstLimit) refused Telegram's deliveries, or someone floods the URL.",
      metric: props.webhook.metricThrottled(),
      threshold: 1,
    });
    this.alarm('IngressErrors', {
      description: 'The webhook Lambda is failing as a whole (timeout, crash); Telegram retries.',
      metric: props.ingress.metricErrors(fiveMinutes),
      threshold: 5,
    });
    this.alarm('IngressThrottles', {
      description:
        "Lambda throttled the webhook: the account's concurrency is used up (check the quota and the reservations, infra/README.md).",
      metric: props.ingress.metricThrottles(fiveMinutes),
      threshold: 1,
    });
    this.alarm('WorkerThrottles', {
      description:
        "Lambda throttled the worker: the account's concurrency is below worker.maxConcurrency plus everything else running.",
      metric: props.worker.metricThrottles(fiveMinutes),
      threshold: 1,
    });
    this.alarm('WorkerErrors', {
      description:
        'A worker invocation failed as a whole (timeout, out of memory, crash), not a reported item failure.',
      metric: props.worker.metricErrors(fiveMinutes),
      threshold: 1,
    });

    const bedrockIds = props.bedrockModelIds.slice(0, MAX_ALARM_METRICS);
    if (bedrockIds.length > 0) {
      const usingMetrics = Object.fromEntries(
        bedrockIds.map((modelId, index) => [
          `m${index}`,
          new cloudwatch.Metric({
            namespace: 'AWS/Bedrock',
            metricName: 'InvocationThrottles',
            dimensionsMap: { ModelId: modelId },
            ...fiveMinutes,
          }),
        ]),
      );
      this.alarm('BedrockThrottles', {
        description:
          "Bedrock throttled the agent's model calls: turns fail with 'model unavailable'. Lower worker.maxConcurrency or ask for a higher Bedrock quota.",
        metric: new cloudwatch.MathExpression({
          expression: `SUM([${Object.keys(usingMetrics)
            .map((name) => `FILL(${name}, 0)`)
            .join(', ')}])`,
          usingMetrics,
          label: 'Bedrock InvocationThrottles',
          period: Duration.minutes(5),
        }),
        threshold: 1,
      });
    }

    if (props.budgetMonthlyUsd !== undefined) this.budget(props.budgetMonthlyUsd);
  }

  private alarm(id: string, spec: AlarmSpec): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: spec.description,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.above
        ? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // No datapoint is no trouble: SQS and Lambda publish nothing while idle.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    return alarm;
  }

  /** The account's monthly cost, to the alarm topic at 80 % actual and 100 % forecast. */
  private budget(monthlyUsd: number): void {
    const account = Stack.of(this).account;
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'BudgetsPublish',
        principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    const subscribers = [{ subscriptionType: 'SNS', address: this.topic.topicArn }];
    new budgets.CfnBudget(this, 'MonthlyCost', {
      budget: {
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: monthlyUsd, unit: 'USD' },
      },
      notificationsWithSubscribers: [
        {
          notification: {
            notificationType: 'ACTUAL',
            comparisonOperator: 'GREATER_THAN',
            threshold: 80,
            thresholdType: 'PERCENTAGE',
          },
          subscribers,
        },
        {
          notification: {
            notificationType: 'FORECASTED',
            comparisonOperator: 'GREATER_THAN',
            threshold: 100,
            thresholdType: 'PERCENTAGE',
          },
          subscribers,
        },
      ],
    });
  }
}
