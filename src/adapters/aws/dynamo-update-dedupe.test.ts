import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../../../test/support/aws-emulators.js';
import { DynamoUpdateDedupe } from './dynamo-update-dedupe.js';

let aws: AwsEmulators;
let now = Date.UTC(2030, 0, 1);

beforeAll(async () => {
  aws = await startAwsEmulators();
});

afterAll(async () => {
  await aws?.stop();
});

describe('DynamoUpdateDedupe.claim', () => {
  // dynalite sends no item with a failed condition (the adapter reads it);
  // the second client does, as DynamoDB does.
  for (const variant of ['emulator', 'returning the item'] as const) {
    it(`tells a pending claim from a committed one (${variant})`, async () => {
      const client = variant === 'emulator' ? aws.dynamo : aws.dynamoReturningConditionItems();
      const dedupe = new DynamoUpdateDedupe({
        client,
        tableName: aws.tableName,
        pendingSeconds: 60,
        retentionSeconds: 86_400,
        now: () => now,
      });
      const id = randomUUID();
      expect(await dedupe.claim(id)).toBe('claimed');
      // Not yet handed off (or the hand-off failed and the claim stayed): retry later.
      expect(await dedupe.claim(id)).toBe('pending');
      await dedupe.commit(id);
      expect(await dedupe.claim(id)).toBe('duplicate');

      const stranded = randomUUID();
      expect(await dedupe.claim(stranded)).toBe('claimed');
      now += 61_000;
      expect(await dedupe.claim(stranded)).toBe('claimed');
    });
  }
});
