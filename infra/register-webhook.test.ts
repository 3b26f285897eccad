import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ALLOWED_UPDATES,
  RegisterWebhookError,
  registerWebhook,
} from '../src/entrypoints/aws/register-webhook.js';
import { FakeBotApi } from '../test/support/fake-bot-api.js';

const TOKEN_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:BotToken-AbCdEf';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:WebhookSecret-GhIjKl';
const URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/telegram/webhook';

let telegram: FakeBotApi;
let lines: string[];

beforeAll(async () => {
  telegram = await FakeBotApi.start();
});
afterAll(async () => {
  await telegram.stop();
});
beforeEach(() => {
  telegram.calls.length = 0;
  lines = [];
});

const run = (
  argv: string[],
  env: Record<string, string> = {},
  secrets: Record<string, string> = {},
) =>
  registerWebhook(argv, {
    env: { TELEGRAM_API_ROOT: telegram.apiRoot, ...env },
    log: (line) => lines.push(line),
    readSecret: async (arn) => {
      const value = secrets[arn];
      if (value === undefined)
        throw Object.assign(new Error('Secrets Manager cannot find the secret'), {
          name: 'ResourceNotFoundException',
        });
      return value;
    },
  });

describe('register-webhook', () => {
  it('sets the webhook with the secret and the update types the bot handles, reading both from Secrets Manager', async () => {
    await run(
      ['--url', URL, '--token-secret-arn', TOKEN_ARN, '--webhook-secret-arn', SECRET_ARN],
      {},
      {
        [TOKEN_ARN]: telegram.token,
        [SECRET_ARN]: 'generated_Secret-value-0123456789',
      },
    );
    const [call] = telegram.callsTo('setWebhook');
    expect(call?.params).toMatchObject({
      url: URL,
      secret_token: 'generated_Secret-value-0123456789',
      allowed_updates: [...ALLOWED_UPDATES],
      drop_pending_updates: false,
    });
    expect(ALLOWED_UPDATES).toEqual([
      'message',
      'edited_message',
      'callback_query',
      'stopped_message_generation',
    ]);
    expect(telegram.callsTo('setMyCommands')).toHaveLength(1);
    expect(lines[0]).toMatch(/^Webhook set:/);
  });

  it('takes the values from the environment and can drop pending updates', async () => {
    await run(['--drop-pending-updates'], {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_WEBHOOK_SECRET: 'from-env_secret',
      TELEGRAM_WEBHOOK_URL: URL,
    });
    expect(telegram.callsTo('setWebhook')[0]?.params).toMatchObject({
      secret_token: 'from-env_secret',
      drop_pending_updates: true,
    });
  });

  it('removes the webhook with --delete', async () => {
    await run(['--delete'], { TELEGRAM_BOT_TOKEN: telegram.token });
    expect(telegram.callsTo('deleteWebhook')).toHaveLength(1);
    expect(telegram.callsTo('setWebhook')).toHaveLength(0);
  });

  it('says the bot token secret still holds its placeholder', async () => {
    const error = await run(
      ['--url', URL, '--token-secret-arn', TOKEN_ARN],
      {},
      { [TOKEN_ARN]: 'Xk3v9QpLr2Zt7WmN4bYc8HdJ6sFa1GeU' },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(RegisterWebhookError);
    expect(error.message).toMatch(/placeholder/);
    expect(error.message).toContain('put-secret-value');
    expect(telegram.calls).toHaveLength(0);
  });

  it('explains what is missing or wrong before calling Telegram', async () => {
    const env = { TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_WEBHOOK_SECRET: 'ok_secret' };
    await expect(run([], env)).rejects.toThrow(/--url is required/);
    await expect(run(['--url', 'ftp://example.com/hook'], env)).rejects.toThrow(/https:\/\//);
    await expect(run(['--url', URL], { TELEGRAM_BOT_TOKEN: telegram.token })).rejects.toThrow(
      /No webhook secret/,
    );
    await expect(
      run(['--url', URL], { ...env, TELEGRAM_WEBHOOK_SECRET: 'has spaces' }),
    ).rejects.toThrow(/A-Z, a-z, 0-9/);
    await expect(run(['--url', URL, '--token-secret-arn', TOKEN_ARN], env)).rejects.toThrow(
      /Could not read the bot token from Secrets Manager .*ResourceNotFoundException/,
    );
    await expect(run(['--bogus'], env)).rejects.toThrow(/Unknown option '--bogus'[\s\S]*Usage:/);
    expect(telegram.calls).toHaveLength(0);
  });

  it('reports what Telegram refused', async () => {
    telegram.failNext('setWebhook', {
      error_code: 400,
      description: 'Bad Request: bad webhook: HTTPS url must be provided for webhook',
    });
    await expect(
      run(['--url', URL], {
        TELEGRAM_BOT_TOKEN: telegram.token,
        TELEGRAM_WEBHOOK_SECRET: 'ok_secret',
      }),
    ).rejects.toThrow(
      'Telegram refused setWebhook: 400 Bad Request: bad webhook: HTTPS url must be provided for webhook.',
    );
  });
});
