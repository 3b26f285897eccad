import { describe, expect, it } from 'vitest';
import { loadAppSettings } from './app-settings.js';
import { SettingsError } from './settings-error.js';

const valid = {
  TELEGRAM_BOT_TOKEN: '123456:TEST-fake-token-not-a-secret',
  ANTHROPIC_API_KEY: 'test-key',
};

function issuesOf(env: Record<string, string>): Record<string, string> {
  try {
    loadAppSettings(env, '/srv');
  } catch (error) {
    if (!SettingsError.isInstance(error)) throw error;
    return Object.fromEntries(error.issues.map((issue) => [issue.name, issue.message]));
  }
  throw new Error('expected a SettingsError');
}

describe('loadAppSettings', () => {
  it('fills in the defaults: long polling, nobody allowed, data and agent dirs under cwd', () => {
    const settings = loadAppSettings(valid, '/srv');
    expect(settings.telegram).toEqual({
      token: valid.TELEGRAM_BOT_TOKEN,
      apiRoot: undefined,
      webhook: undefined,
    });
    expect(settings.access.openToAll).toBe(false);
    expect(settings.access.allowedUserIds.size + settings.access.allowedChatIds.size).toBe(0);
    expect(settings.runtime.dataDir).toBe('/srv/data');
    expect(settings.runtime.agentDir).toBe('/srv/agent');
    expect(settings.tenant).toBe('default');
    expect(settings.worker).toEqual({ concurrency: 2, maxAttempts: 3 });
  });

  it('reads the bounds on a failing model, leaving unset ones to the runtime', () => {
    expect(loadAppSettings(valid, '/srv').runtime.modelFailure).toEqual({
      noticeWithinMs: undefined,
      maxRetries: undefined,
      // A task's whole allowance on AWS: 15 minutes for each of 1 + 3 runs.
      turnTimeLimitMs: 60 * 60_000,
    });
    expect(
      loadAppSettings({ ...valid, MAX_CONTINUATIONS: '1' }, '/srv').runtime.modelFailure
        .turnTimeLimitMs,
    ).toBe(30 * 60_000);
    expect(() => loadAppSettings({ ...valid, MAX_CONTINUATIONS: '-1' }, '/srv')).toThrow(
      /MAX_CONTINUATIONS/,
    );
    const settings = loadAppSettings(
      {
        ...valid,
        MODEL_NOTICE_SECONDS: '90',
        MODEL_MAX_RETRIES: '0',
        TURN_TIME_LIMIT_MINUTES: '5',
      },
      '/srv',
    );
    expect(settings.runtime.modelFailure).toEqual({
      noticeWithinMs: 90_000,
      maxRetries: 0,
      turnTimeLimitMs: 300_000,
    });
    expect(() => loadAppSettings({ ...valid, MODEL_MAX_RETRIES: '-1' }, '/srv')).toThrow(
      /MODEL_MAX_RETRIES/,
    );
  });

  it("reads Claude Code's small fast model, by its current name before the older one", () => {
    expect(loadAppSettings(valid, '/srv').runtime.modelAccess.smallFastModel).toBeUndefined();
    const both = loadAppSettings(
      { ...valid, ANTHROPIC_DEFAULT_HAIKU_MODEL: 'haiku-new', ANTHROPIC_SMALL_FAST_MODEL: 'old' },
      '/srv',
    );
    expect(both.runtime.modelAccess.smallFastModel).toBe('haiku-new');
    const bedrock = loadAppSettings(
      {
        TELEGRAM_BOT_TOKEN: valid.TELEGRAM_BOT_TOKEN,
        CLAUDE_CODE_USE_BEDROCK: '1',
        AWS_REGION: 'eu-west-1',
        ANTHROPIC_SMALL_FAST_MODEL: 'eu.small',
      },
      '/srv',
    );
    expect(bedrock.runtime.modelAccess).toEqual({
      provider: 'bedrock',
      region: 'eu-west-1',
      smallFastModel: 'eu.small',
    });
  });

  it('reads allowlists, webhook mode and worker settings', () => {
    const settings = loadAppSettings(
      {
        ...valid,
        TELEGRAM_ALLOWED_USER_IDS: '1, 22 333',
        TELEGRAM_ALLOWED_CHAT_IDS: '-100123',
        TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/telegram',
        TELEGRAM_WEBHOOK_SECRET: 'abcdefghijklmnop_-',
        WEBHOOK_PORT: '9000',
        WORKER_CONCURRENCY: '8',
        TENANT: 'team-a',
      },
      '/srv',
    );
    expect([...settings.access.allowedUserIds]).toEqual(['1', '22', '333']);
    expect([...settings.access.allowedChatIds]).toEqual(['-100123']);
    expect(settings.telegram.webhook).toEqual({
      url: 'https://bot.example.com/telegram',
      secret: 'abcdefghijklmnop_-',
      host: '0.0.0.0',
      port: 9000,
    });
    expect(settings.worker.concurrency).toBe(8);
    expect(settings.tenant).toBe('team-a');
  });

  it('names every missing or invalid setting in one error', () => {
    const issues = issuesOf({
      TELEGRAM_ALLOWED_USER_IDS: '12,abc',
      WORKER_CONCURRENCY: '0',
      TELEGRAM_ALLOW_EVERYONE: 'maybe',
      TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/hook',
    });
    expect(Object.keys(issues).sort()).toEqual(
      [
        'ANTHROPIC_API_KEY',
        'TELEGRAM_ALLOWED_USER_IDS',
        'TELEGRAM_ALLOW_EVERYONE',
        'TELEGRAM_BOT_TOKEN',
        'WORKER_CONCURRENCY',
      ].sort(),
    );
    expect(issues.TELEGRAM_BOT_TOKEN).toMatch(/required/);
    // The webhook pair is checked once the rest parses.
    expect(issuesOf({ ...valid, TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/hook' })).toEqual({
      TELEGRAM_WEBHOOK_SECRET: expect.stringMatching(/required with TELEGRAM_WEBHOOK_URL/),
    });
    expect(issuesOf({ ...valid, TELEGRAM_BOT_TOKEN: 'not-a-token' }).TELEGRAM_BOT_TOKEN).toMatch(
      /@BotFather/,
    );
  });

  it('reads how long a question waits, and refuses a bad value with the rest at start-up', () => {
    expect(loadAppSettings(valid, '/srv').questions).toEqual({ timeoutMs: 10 * 60_000 });
    expect(loadAppSettings({ ...valid, QUESTION_TIMEOUT_MINUTES: '3' }, '/srv').questions).toEqual({
      timeoutMs: 3 * 60_000,
    });
    expect(issuesOf({ ...valid, QUESTION_TIMEOUT_MINUTES: '0', WORKER_CONCURRENCY: '0' })).toEqual({
      QUESTION_TIMEOUT_MINUTES: expect.any(String),
      WORKER_CONCURRENCY: expect.any(String),
    });
  });

  it('says so in the message, variable by variable', () => {
    expect(() => loadAppSettings({}, '/srv')).toThrow(/TELEGRAM_BOT_TOKEN: required.*\n.*/);
  });
});
