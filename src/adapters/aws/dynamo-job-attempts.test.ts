import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../../../test/support/aws-emulators.js';
import { DynamoJobAttempts } from './dynamo-job-attempts.js';

let aws: AwsEmulators;

beforeAll(async () => {
  aws = await startAwsEmulators();
});

afterAll(async () => {
  await aws?.stop();
});

describe('DynamoJobAttempts', () => {
  const attempts = () => new DynamoJobAttempts({ client: aws.dynamo, tableName: aws.tableName });

  it('counts attempts per job, and tells a redrive from the dead-letter queue', async () => {
    const job = randomUUID();
    expect(await attempts().begin(job)).toBe(1);
    expect(await attempts().begin(job)).toBe(2);
    expect(await attempts().begin(randomUUID())).toBe(1);

    await attempts().markDeadLettered(job);
    expect(await attempts().begin(job)).toBe('redriven');
    // Still redriven until restarted: a crash in between repeats the reset.
    expect(await attempts().begin(job)).toBe('redriven');
    expect(await attempts().restart(job)).toBe(1);
    expect(await attempts().begin(job)).toBe(2);
  });

  it('counts concurrent attempts one by one', async () => {
    const job = randomUUID();
    const counts = await Promise.all(Array.from({ length: 5 }, () => attempts().begin(job)));
    expect([...counts].sort()).toEqual([1, 2, 3, 4, 5]);
  });
});
