import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bedrockResourceArns } from './lib/bedrock-resources.js';
import { InfraConfigError, loadInfraConfig, parseInfraConfig } from './lib/config.js';

function configFile(content: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'infra-config-'));
  const file = path.join(dir, 'config.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function issuesOf(run: () => unknown): Array<{ source: string; message: string }> {
  try {
    run();
  } catch (error) {
    if (error instanceof InfraConfigError) return [...error.issues];
    throw error;
  }
  throw new Error('expected an InfraConfigError');
}

describe('loadInfraConfig', () => {
  it('works with no file and no environment', () => {
    const config = loadInfraConfig({ env: {}, file: '/nonexistent/config.json' });
    expect(config).toMatchObject({
      stackName: 'TelegramClaudeAgent',
      model: {
        provider: 'bedrock',
        id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        smallFastId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
        extraIds: [],
      },
      sessionTtlDays: 25,
      // Capped by default: a new account runs 10 Lambdas at once.
      // Memory measured with `npm run bench -- worker-memory`, plus headroom.
      worker: { memoryMiB: 1024, timeoutSeconds: 900, batchSize: 10, maxConcurrency: 5 },
      ingress: { reservedConcurrency: 2 },
      queue: { maxAttempts: 3, maxReceiveCount: 13, visibilityTimeoutSeconds: 1080 },
      access: { allowedUserIds: [], allowedChatIds: [], allowEveryone: false },
      removalPolicy: 'retain',
      logRetentionDays: 30,
    });
    expect(config.account).toBeUndefined();
    expect(config.worker.reservedConcurrency).toBeUndefined();
  });

  it('overlays INFRA_* variables on the file, and takes account and region from the CDK CLI', () => {
    const file = configFile({ worker: { memoryMiB: 4096 }, access: { allowedUserIds: ['1'] } });
    const config = loadInfraConfig({
      file,
      env: {
        INFRA_WORKER_TIMEOUT_SECONDS: '300',
        INFRA_ALLOWED_USER_IDS: '42, 43',
        INFRA_ALLOW_EVERYONE: 'no',
        INFRA_ALARM_EMAIL: 'ops@example.com',
        CDK_DEFAULT_ACCOUNT: '123456789012',
        CDK_DEFAULT_REGION: 'eu-central-1',
      },
    });
    expect(config.worker).toMatchObject({ memoryMiB: 4096, timeoutSeconds: 300 });
    expect(config.queue.visibilityTimeoutSeconds).toBe(360);
    expect(config.access.allowedUserIds).toEqual(['42', '43']);
    expect(config.alarmEmail).toBe('ops@example.com');
    expect(config).toMatchObject({ account: '123456789012', region: 'eu-central-1' });
    // The Bedrock defaults follow the region's geography.
    expect(config.model.id).toBe('eu.anthropic.claude-sonnet-4-5-20250929-v1:0');
  });

  it('names the variable or the file field behind each problem, all at once', () => {
    const file = configFile({ worker: { memoryMiB: 64 }, unknownSetting: true });
    const issues = issuesOf(() =>
      loadInfraConfig({
        file,
        env: {
          INFRA_MAX_RECEIVE_COUNT: 'three',
          INFRA_MODEL_PROVIDER: 'openai',
          INFRA_ALLOWED_CHAT_IDS: 'abc',
        },
      }),
    );
    const sources = issues.map((issue) => issue.source);
    expect(sources).toContain('INFRA_MAX_RECEIVE_COUNT');
    expect(sources).toContain('INFRA_MODEL_PROVIDER');
    expect(sources).toContain('INFRA_ALLOWED_CHAT_IDS');
    expect(sources).toContain(`${file}: worker.memoryMiB`);
    expect(sources.some((source) => source.startsWith(file))).toBe(true);
    expect(issues.find((issue) => issue.source === 'INFRA_MAX_RECEIVE_COUNT')?.message).toBe(
      'expected a whole number',
    );
  });

  it('accepts the example file', () => {
    const file = path.join(import.meta.dirname, 'config.example.json');
    expect(loadInfraConfig({ file, requireFile: true, env: {} }).access.allowedUserIds).toEqual([
      '123456789',
    ]);
  });

  it('reports a file that is not JSON, and a named file that is missing', () => {
    const file = configFile('{ not json');
    expect(issuesOf(() => loadInfraConfig({ file, env: {} }))[0]?.message).toMatch(
      /not valid JSON/,
    );
    expect(
      issuesOf(() => loadInfraConfig({ file: '/nope.json', requireFile: true, env: {} }))[0],
    ).toEqual({
      source: '/nope.json',
      message: 'file not found',
    });
  });
});

describe('parseInfraConfig rules', () => {
  it('refuses a visibility timeout shorter than 1.2 x the worker timeout', () => {
    const issues = issuesOf(() =>
      parseInfraConfig({
        worker: { timeoutSeconds: 600 },
        queue: { visibilityTimeoutSeconds: 700 },
      }),
    );
    expect(issues).toEqual([
      {
        source: 'queue.visibilityTimeoutSeconds',
        message: expect.stringContaining('at least 1.2 x'),
      },
    ]);
  });

  it('refuses a receive count without room beyond the attempts', () => {
    const issues = issuesOf(() =>
      parseInfraConfig({ queue: { maxAttempts: 3, maxReceiveCount: 4 } }),
    );
    expect(issues).toEqual([
      { source: 'queue.maxReceiveCount', message: expect.stringContaining('maxAttempts + 2 (5)') },
    ]);
    expect(parseInfraConfig({ queue: { maxAttempts: 4 } }).queue.maxReceiveCount).toBe(14);
  });

  it('refuses an event-source cap above the reserved concurrency', () => {
    expect(
      issuesOf(() => parseInfraConfig({ worker: { reservedConcurrency: 2, maxConcurrency: 5 } }))[0]
        ?.source,
    ).toBe('worker.maxConcurrency');
  });

  it('refuses auto-deleting objects of a retained bucket', () => {
    expect(issuesOf(() => parseInfraConfig({ autoDeleteObjects: true }))[0]?.source).toBe(
      'autoDeleteObjects',
    );
  });

  it('refuses a log retention CloudWatch does not offer', () => {
    expect(issuesOf(() => parseInfraConfig({ logRetentionDays: 10 }))[0]?.source).toBe(
      'logRetentionDays',
    );
  });

  it('leaves the Anthropic model to Claude Code unless set', () => {
    expect(parseInfraConfig({ model: { provider: 'anthropic' } }).model).toEqual({
      provider: 'anthropic',
      id: undefined,
      smallFastId: undefined,
      extraIds: [],
    });
  });

  it('keeps the default worker cap within a smaller reservation, and none below 2', () => {
    expect(parseInfraConfig({ worker: { reservedConcurrency: 3 } }).worker.maxConcurrency).toBe(3);
    expect(
      parseInfraConfig({ worker: { reservedConcurrency: 1 } }).worker.maxConcurrency,
    ).toBeUndefined();
    expect(parseInfraConfig({ worker: { maxConcurrency: 20 } }).worker.maxConcurrency).toBe(20);
  });

  it('lets the ingress reservation be turned off, for an account whose quota is 10', () => {
    const config = loadInfraConfig({ env: { INFRA_INGRESS_RESERVED_CONCURRENCY: 'off' } });
    expect(config.ingress.reservedConcurrency).toBe('off');
    expect(
      issuesOf(() => loadInfraConfig({ env: { INFRA_INGRESS_RESERVED_CONCURRENCY: 'none' } })),
    ).toEqual([
      { source: 'INFRA_INGRESS_RESERVED_CONCURRENCY', message: 'expected a whole number or "off"' },
    ]);
  });

  it('refuses an inference profile that cannot be called from the region, and says what can', () => {
    const issues = issuesOf(() =>
      parseInfraConfig({
        region: 'eu-west-1',
        model: {
          id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
          smallFastId: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
          extraIds: ['apac.anthropic.claude-x-v1:0', 'global.anthropic.claude-x-v1:0'],
        },
      }),
    );
    expect(issues.map((issue) => issue.source)).toEqual(['model.id', 'model.extraIds.0']);
    expect(issues[0]?.message).toBe(
      'the "us." inference profile can only be called from US regions (us-east-*, us-west-*), not from eu-west-1: use "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", or "global.anthropic.claude-sonnet-4-5-20250929-v1:0"',
    );
    // From the CDK CLI's region too, by the variable that set the id.
    const fromEnv = issuesOf(() =>
      loadInfraConfig({
        env: {
          INFRA_MODEL_ID: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
          CDK_DEFAULT_REGION: 'ap-northeast-1',
        },
      }),
    );
    expect(fromEnv.map((issue) => issue.source)).toEqual(['INFRA_MODEL_ID']);
    expect(fromEnv[0]?.message).toContain('use "apac.anthropic');
    expect(fromEnv[0]?.message).toContain('"jp.anthropic');
  });

  it("picks the region's own profiles by default, global where no geography's can be called", () => {
    const model = (region: string) => parseInfraConfig({ region }).model;
    expect(model('us-west-2').smallFastId).toBe('us.anthropic.claude-haiku-4-5-20251001-v1:0');
    expect(model('eu-central-1').id).toBe('eu.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(model('ap-southeast-2').id).toBe('apac.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(model('ca-central-1').id).toBe('global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(model('sa-east-1').smallFastId).toBe('global.anthropic.claude-haiku-4-5-20251001-v1:0');
  });

  it('reads the model-failure bounds and the budget from the environment', () => {
    const config = loadInfraConfig({
      env: {
        INFRA_MODEL_NOTICE_SECONDS: '60',
        INFRA_MODEL_MAX_RETRIES: '0',
        INFRA_TURN_TIME_LIMIT_MINUTES: '10',
        INFRA_BUDGET_MONTHLY_USD: '50',
      },
    });
    expect(config.worker).toMatchObject({
      modelNoticeSeconds: 60,
      modelMaxRetries: 0,
      turnTimeLimitMinutes: 10,
    });
    expect(config.budgetMonthlyUsd).toBe(50);
    expect(
      issuesOf(() => parseInfraConfig({ worker: { turnTimeLimitMinutes: 20 } }))[0]?.source,
    ).toBe('worker.turnTimeLimitMinutes');
  });
});

describe('bedrockResourceArns', () => {
  const context = { partition: 'aws', region: 'us-west-2', account: '123456789012' };

  it('allows a regional profile here and its foundation model in every region it routes to', () => {
    expect(bedrockResourceArns(['us.anthropic.claude-x-v1:0'], context)).toEqual([
      'arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-x-v1:0',
      'arn:aws:bedrock:*::foundation-model/anthropic.claude-x-v1:0',
    ]);
  });

  it('adds the region-less foundation model ARN for global profiles', () => {
    expect(bedrockResourceArns(['global.anthropic.claude-x-v1:0'], context)).toContain(
      'arn:aws:bedrock:::foundation-model/anthropic.claude-x-v1:0',
    );
  });

  it('keeps a plain model id in the stack region and passes ARNs through, once each', () => {
    const arn = 'arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc';
    expect(bedrockResourceArns(['anthropic.claude-x-v1:0', arn, arn], context)).toEqual([
      'arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-x-v1:0',
      arn,
    ]);
  });
});
