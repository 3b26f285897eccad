import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Api, GrammyError, HttpError } from 'grammy';
import { ALLOWED_UPDATES } from '../../adapters/telegram/allowed-updates.js';
import { BOT_COMMANDS } from '../../adapters/telegram/telegram-bot.js';
import { AgentError } from '../../domain/errors.js';

/**
 * Registers (or removes) the bot's webhook with Telegram:
 *
 *   npm run register-webhook -- --url https://<api>/telegram/webhook \
 *     --token-secret-arn <arn> --webhook-secret-arn <arn> [--drop-pending-updates]
 *   npm run register-webhook -- --delete --token-secret-arn <arn>
 *
 * The values come from the environment (TELEGRAM_BOT_TOKEN,
 * TELEGRAM_WEBHOOK_SECRET) or, given an ARN (flag or
 * TELEGRAM_BOT_TOKEN_SECRET_ARN / TELEGRAM_WEBHOOK_SECRET_ARN), from Secrets
 * Manager in the ARN's region with the caller's AWS credentials. The stack's
 * `RegisterWebhookCommand` output is the whole command line. TELEGRAM_API_ROOT
 * points it at another Bot API server (tests, a self-hosted one).
 */

/** The update types the bot handles, as local polling asks for them too; Telegram sends no others. */
export { ALLOWED_UPDATES };

const USAGE = `Usage: register-webhook --url <https url> [options]
       register-webhook --delete [options]

Options:
  --url <url>                 Public HTTPS URL of POST /telegram/webhook (stack output WebhookUrl)
                              (env TELEGRAM_WEBHOOK_URL)
  --token-secret-arn <arn>    Read the bot token from this Secrets Manager secret
                              (env TELEGRAM_BOT_TOKEN_SECRET_ARN; or the token in TELEGRAM_BOT_TOKEN)
  --webhook-secret-arn <arn>  Read the webhook secret from this Secrets Manager secret
                              (env TELEGRAM_WEBHOOK_SECRET_ARN; or the value in TELEGRAM_WEBHOOK_SECRET)
  --drop-pending-updates      Discard updates Telegram queued while no webhook worked
  --delete                    Remove the webhook instead (e.g. before tearing the stack down)
  --help                      This text`;

export class RegisterWebhookError extends AgentError {
  static override readonly errorName = 'RegisterWebhookError';
}

export type SecretReader = (arn: string) => Promise<string>;

export interface RegisterWebhookOptions {
  env: Record<string, string | undefined>;
  /** Reads a secret's string value by ARN (default: Secrets Manager in the ARN's region). */
  readSecret?: SecretReader;
  log?: (line: string) => void;
}

const BOT_TOKEN = /^\d+:[A-Za-z0-9_-]{20,}$/;
const WEBHOOK_SECRET = /^[A-Za-z0-9_-]{1,256}$/;

/** Runs the command; resolves when Telegram confirmed, rejects with a RegisterWebhookError saying what to fix. */
export async function registerWebhook(
  argv: readonly string[],
  options: RegisterWebhookOptions,
): Promise<void> {
  const { env } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const readSecret = options.readSecret ?? readSecretFromSecretsManager;
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new RegisterWebhookError(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) {
    log(USAGE);
    return;
  }

  const apiRoot = text(env.TELEGRAM_API_ROOT);
  const token = await resolveValue({
    what: 'bot token',
    value: text(env.TELEGRAM_BOT_TOKEN),
    arn: text(values['token-secret-arn']) ?? text(env.TELEGRAM_BOT_TOKEN_SECRET_ARN),
    hint: 'pass --token-secret-arn <BotTokenSecretArn> (a stack output) or set TELEGRAM_BOT_TOKEN',
    readSecret,
  });
  if (!BOT_TOKEN.test(token)) {
    throw new RegisterWebhookError(
      'The bot token does not look like one from @BotFather (digits, a colon, then letters). ' +
        'If it came from the stack, the secret still holds its placeholder: set it with\n' +
        '  aws secretsmanager put-secret-value --secret-id <BotTokenSecretArn> --secret-string "<token>"',
    );
  }
  const api = new Api(token, apiRoot ? { apiRoot } : undefined);

  if (values.delete) {
    await callTelegram('deleteWebhook', () =>
      api.deleteWebhook({ drop_pending_updates: values['drop-pending-updates'] === true }),
    );
    log('Webhook removed.');
    return;
  }

  const url = text(values.url) ?? text(env.TELEGRAM_WEBHOOK_URL);
  if (!url)
    throw new RegisterWebhookError(`--url is required (the stack output WebhookUrl).\n\n${USAGE}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RegisterWebhookError(`--url is not a URL: ${url}`);
  }
  // Telegram only calls HTTPS webhooks; plain HTTP is allowed against another Bot API server (tests).
  if (parsed.protocol !== 'https:' && !(apiRoot && parsed.protocol === 'http:')) {
    throw new RegisterWebhookError(
      `--url must be an https:// URL (Telegram calls only HTTPS webhooks): ${url}`,
    );
  }
  const secret = await resolveValue({
    what: 'webhook secret',
    value: text(env.TELEGRAM_WEBHOOK_SECRET),
    arn: text(values['webhook-secret-arn']) ?? text(env.TELEGRAM_WEBHOOK_SECRET_ARN),
    hint: 'pass --webhook-secret-arn <WebhookSecretArn> (a stack output) or set TELEGRAM_WEBHOOK_SECRET',
    readSecret,
  });
  if (!WEBHOOK_SECRET.test(secret)) {
    throw new RegisterWebhookError(
      'The webhook secret must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram sends it back in X-Telegram-Bot-Api-Secret-Token).',
    );
  }

  await callTelegram('setWebhook', () =>
    api.setWebhook(parsed.href, {
      secret_token: secret,
      allowed_updates: [...ALLOWED_UPDATES],
      drop_pending_updates: values['drop-pending-updates'] === true,
    }),
  );
  // The command menu, as the local bot registers it at start. Best effort.
  try {
    await api.setMyCommands(BOT_COMMANDS);
  } catch (error) {
    log(`Warning: setMyCommands failed (${String(error)}); the webhook is set regardless.`);
  }
  const info = await callTelegram('getWebhookInfo', () => api.getWebhookInfo());
  log(`Webhook set: ${info.url}`);
  log(`Allowed updates: ${(info.allowed_updates ?? ALLOWED_UPDATES).join(', ')}`);
  log(`Pending updates: ${info.pending_update_count}`);
  if (info.last_error_message) {
    log(`Last delivery error (before this change): ${info.last_error_message}`);
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      'token-secret-arn': { type: 'string' },
      'webhook-secret-arn': { type: 'string' },
      'drop-pending-updates': { type: 'boolean' },
      delete: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function resolveValue(options: {
  what: string;
  value: string | undefined;
  arn: string | undefined;
  hint: string;
  readSecret: SecretReader;
}): Promise<string> {
  if (options.arn) {
    try {
      const value = (await options.readSecret(options.arn)).trim();
      if (!value)
        throw new RegisterWebhookError(`The ${options.what} secret ${options.arn} is empty.`);
      return value;
    } catch (error) {
      if (RegisterWebhookError.isInstance(error)) throw error;
      const name = (error as { name?: string }).name ?? 'Error';
      throw new RegisterWebhookError(
        `Could not read the ${options.what} from Secrets Manager (${options.arn}): ${name}: ${(error as Error).message}. ` +
          'Check your AWS credentials (AWS_PROFILE) and that they may call secretsmanager:GetSecretValue on it.',
      );
    }
  }
  if (options.value) return options.value;
  throw new RegisterWebhookError(`No ${options.what}: ${options.hint}.`);
}

async function callTelegram<T>(method: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof GrammyError) {
      const hint =
        error.error_code === 401 || error.error_code === 404
          ? ' The bot token is wrong or was revoked (@BotFather, /token).'
          : '';
      throw new RegisterWebhookError(
        `Telegram refused ${method}: ${error.error_code} ${error.description}.${hint}`,
      );
    }
    if (error instanceof HttpError) {
      throw new RegisterWebhookError(
        `Could not reach the Telegram Bot API for ${method}: ${String(error.error)}`,
      );
    }
    throw error;
  }
}

/** Secrets Manager in the region the ARN names (arn:aws:secretsmanager:<region>:...). */
async function readSecretFromSecretsManager(arn: string): Promise<string> {
  const region = /^arn:[\w-]+:secretsmanager:([a-z0-9-]+):/.exec(arn)?.[1];
  if (!region) throw new RegisterWebhookError(`Not a Secrets Manager secret ARN: ${arn}`);
  const client = new SecretsManagerClient({ region });
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    if (result.SecretString === undefined)
      throw new RegisterWebhookError(`The secret ${arn} holds no string value.`);
    return result.SecretString;
  } finally {
    client.destroy();
  }
}

function text(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  registerWebhook(process.argv.slice(2), { env: process.env }).catch((error: unknown) => {
    console.error(RegisterWebhookError.isInstance(error) ? error.message : error);
    process.exitCode = 1;
  });
}
