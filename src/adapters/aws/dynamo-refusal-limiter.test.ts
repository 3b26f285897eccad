import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../../../test/support/aws-emulators.js';
import { MemoryRefusalLimiter } from '../memory/memory-refusal-limiter.js';
import { DynamoRefusalLimiter } from './dynamo-refusal-limiter.js';

let aws: AwsEmulators;

beforeAll(async () => {
  aws = await startAwsEmulators();
});

afterAll(async () => {
  await aws?.stop();
});

describe.each([
  [
    'DynamoRefusalLimiter',
    (now: () => number) =>
      new DynamoRefusalLimiter({
        client: aws.dynamo,
        tableName: aws.tableName,
        quietMs: 60_000,
        now,
      }),
  ],
  [
    'MemoryRefusalLimiter',
    (now: () => number) => new MemoryRefusalLimiter({ quietMs: 60_000, now }),
  ],
])('%s', (_name, make) => {
  it('lets one refusal per person through, then stays quiet until the period is over', async () => {
    let clock = Date.now();
    const now = () => clock;
    const one = make(now);
    const stranger = randomUUID();
    expect(await one.claim(stranger)).toBe(true);
    const again = await Promise.all(Array.from({ length: 39 }, () => one.claim(stranger)));
    expect(again.filter(Boolean)).toHaveLength(0);
    // Someone else is not silenced by the first stranger.
    expect(await one.claim(randomUUID())).toBe(true);

    clock += 61_000;
    expect(await one.claim(stranger)).toBe(true);
    expect(await one.claim(stranger)).toBe(false);
  });
});

describe('DynamoRefusalLimiter across containers', () => {
  it('shares the quiet period between ingress instances', async () => {
    const make = () => new DynamoRefusalLimiter({ client: aws.dynamo, tableName: aws.tableName });
    const stranger = randomUUID();
    const claims = await Promise.all(Array.from({ length: 10 }, () => make().claim(stranger)));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });
});
