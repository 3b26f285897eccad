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
        extraIds: ['us.anthropic.claude-haiku-4-5-20251001-v1:0'],
      },
      sessionTtlDays: 25,
      worker: { memoryMiB: 2048, timeoutSeconds: 900, batchSize: 1 },
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
      extraIds: [],
    });
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
