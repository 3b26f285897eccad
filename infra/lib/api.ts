import type { RemovalPolicy } from 'aws-cdk-lib';
import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export const WEBHOOK_PATH = '/telegram/webhook';

export interface WebhookApiProps {
  ingress: lambda.IFunction;
  rateLimit: number;
  burstLimit: number;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
  /** CloudWatch namespace of the metrics made from the access logs (one per stack). */
  metricNamespace: string;
}

/** The metric of requests the stage throttle refused, counted from the access logs. */
const THROTTLED_METRIC_NAME = 'WebhookThrottled';

/**
 * API Gateway HTTP API with one route, POST /telegram/webhook. Authentication
 * is Telegram's secret header, checked by the ingress; the stage throttle
 * bounds what an anonymous caller can cost.
 */
export class WebhookApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  /** The full URL to register with Telegram. */
  readonly webhookUrl: string;
  readonly accessLogs: logs.LogGroup;
  private readonly throttled: logs.MetricFilter;

  constructor(scope: Construct, id: string, props: WebhookApiProps) {
    super(scope, id);
    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Telegram webhook for the Claude agent',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.accessLogs = accessLogs;
    // HTTP APIs publish 4xx and 5xx but no count of 429s: the stage
    // throttle's refusals are counted here from the access log's status.
    this.throttled = new logs.MetricFilter(this, 'Throttled', {
      logGroup: accessLogs,
      metricNamespace: props.metricNamespace,
      metricName: THROTTLED_METRIC_NAME,
      filterPattern: logs.FilterPattern.stringValue('$.status', '=', '429'),
      metricValue: '1',
    });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            route: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    this.api.addRoutes({
      path: WEBHOOK_PATH,
      methods: [apigw.HttpMethod.POST],
      integration: new HttpLambdaIntegration('Ingress', props.ingress, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    this.webhookUrl = `${this.stage.url.replace(/\/$/, '')}${WEBHOOK_PATH}`;
  }

  /** Requests answered 429 (the stage throttle, or the account's API Gateway quota). */
  metricThrottled(period: Duration = Duration.minutes(5)): cloudwatch.Metric {
    return this.throttled.metric({ period, statistic: 'Sum' });
  }
}
