import type { RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface BotSecretsProps {
  /** Create the Anthropic API key secret (model provider `anthropic`). */
  anthropicApiKey: boolean;
  /** Create the speech-to-text service's key secret (media.transcription with apiKey). */
  transcriptionApiKey?: boolean | undefined;
  removalPolicy: RemovalPolicy;
}

/**
 * Secrets live in Secrets Manager and never in the template or in a Lambda's
 * environment: the functions get each secret's ARN and read the value at run
 * time (cached). CloudFormation cannot create a secret without a value, so
 * the bot token and API key start as a random placeholder that the operator
 * replaces (`aws secretsmanager put-secret-value`); a stack update never
 * overwrites the value set.
 */
export class BotSecrets extends Construct {
  readonly botToken: secretsmanager.Secret;
  readonly webhookSecret: secretsmanager.Secret;
  readonly anthropicApiKey: secretsmanager.Secret | undefined;
  readonly transcriptionApiKey: secretsmanager.Secret | undefined;

  constructor(scope: Construct, id: string, props: BotSecretsProps) {
    super(scope, id);
    this.botToken = new secretsmanager.Secret(this, 'BotToken', {
      description:
        'Telegram bot token from @BotFather (plain string). Replace the placeholder after the first deploy.',
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
      removalPolicy: props.removalPolicy,
    });
    // Telegram's secret_token allows 1-256 of A-Z a-z 0-9 _ -; a generated
    // value is what we want, so nobody has to invent or paste one.
    this.webhookSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
      description:
        'Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (generated; rotate by changing it and re-registering the webhook).',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: props.removalPolicy,
    });
    this.anthropicApiKey = props.anthropicApiKey
      ? new secretsmanager.Secret(this, 'AnthropicApiKey', {
          description:
            'Anthropic API key (plain string). Replace the placeholder after the first deploy.',
          generateSecretString: { passwordLength: 32, excludePunctuation: true },
          removalPolicy: props.removalPolicy,
        })
      : undefined;
    this.transcriptionApiKey = props.transcriptionApiKey
      ? new secretsmanager.Secret(this, 'TranscriptionApiKey', {
          description:
            'API key of the speech-to-text service for voice messages (plain string). Replace the placeholder after the first deploy.',
          generateSecretString: { passwordLength: 32, excludePunctuation: true },
          removalPolicy: props.removalPolicy,
        })
      : undefined;
  }
}
