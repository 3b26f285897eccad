import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface AlarmsProps {
  queue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  parkedQueue: sqs.IQueue;
  ingress: lambda.IFunction;
  worker: lambda.IFunction;
  deadLetters: lambda.IFunction;
  workerTimeoutSeconds: number;
  email: string | undefined;
}

/**
 * What an operator must hear about: a message that exhausted its retries
 * (the parked queue is not empty: the dead-letter consumer moves every dead
 * letter there), dead letters the consumer is not getting through, a
 * conversation stuck behind an old message, the ingress failing (Telegram
 * is retrying and users wait), and a worker invocation dying as a whole.
 * All go to one SNS topic; an email subscription is added when configured.
 */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    // Not encrypted with the AWS-managed SNS key: CloudWatch cannot publish
    // to a topic under that key. Alarm notifications carry no user content.
    this.topic = new sns.Topic(this, 'Topic', { enforceSSL: true });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    const action = new actions.SnsAction(this.topic);

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetters', {
      alarmDescription:
        'A job exhausted its receives and is parked. Inspect it, then redrive or purge (infra/README.md, Dead letters).',
      metric: props.parkedQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const stuck = new cloudwatch.Alarm(this, 'OldestJob', {
      alarmDescription:
        'A job has waited longer than two worker timeouts: a conversation is stuck or workers are starved.',
      metric: props.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: props.workerTimeoutSeconds * 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const ingressErrors = new cloudwatch.Alarm(this, 'IngressErrors', {
      alarmDescription: 'The webhook Lambda is failing; Telegram retries, users wait.',
      metric: props.ingress.metricErrors({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const workerErrors = new cloudwatch.Alarm(this, 'WorkerErrors', {
      alarmDescription:
        'A worker invocation failed as a whole (timeout, out of memory, crash), not a reported item failure.',
      metric: props.worker.metricErrors({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const unconsumed = new cloudwatch.Alarm(this, 'DeadLettersUnconsumed', {
      alarmDescription:
        'Dead letters wait longer than 15 minutes: the dead-letter consumer is failing, so people may not have been told.',
      metric: props.deadLetterQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 900,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const deadLetterErrors = new cloudwatch.Alarm(this, 'DeadLetterConsumerErrors', {
      alarmDescription: 'The dead-letter consumer failed as a whole (it could not start).',
      metric: props.deadLetters.metricErrors({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    for (const alarm of [
      this.deadLetterAlarm,
      unconsumed,
      deadLetterErrors,
      stuck,
      ingressErrors,
      workerErrors,
    ]) {
      alarm.addAlarmAction(action);
    }
  }
}
