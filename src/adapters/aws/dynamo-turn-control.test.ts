import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../../../test/support/aws-emulators.js';
import { DynamoTurnControl } from './dynamo-turn-control.js';

let aws: AwsEmulators;

beforeAll(async () => {
  aws = await startAwsEmulators();
});

afterAll(async () => {
  await aws?.stop();
});

describe('DynamoTurnControl', () => {
  const control = (options: { runningUntil?: () => number } = {}) =>
    new DynamoTurnControl({
      client: aws.dynamo,
      tableName: aws.tableName,
      pollIntervalMs: 25,
      ...options,
    });

  it('lets another instance see a running turn and stop it, once', async () => {
    const id = randomUUID();
    const worker = control();
    const elsewhere = control();
    expect(await elsewhere.requestStop(id)).toBe(false);

    const before = Date.now();
    const running = worker.begin(id);
    await vi.waitFor(async () => expect(await elsewhere.runningSince(id)).not.toBeNull());
    expect(await elsewhere.runningSince(id)).toBeGreaterThanOrEqual(before);

    expect(await elsewhere.requestStop(id)).toBe(true);
    await vi.waitFor(() => expect(running.signal.aborted).toBe(true));
    // A second /stop finds nothing left to stop.
    expect(await elsewhere.requestStop(id)).toBe(false);

    running.end();
    await worker.idle();
    expect(await elsewhere.runningSince(id)).toBeNull();
  });

  it('does not count the item of a turn past its deadline as running', async () => {
    const id = randomUUID();
    // A worker that died mid-turn leaves its item; its deadline has passed.
    const crashed = control({ runningUntil: () => Date.now() - 1 });
    crashed.begin(id);
    await crashed.idle();
    expect(await control().runningSince(id)).toBeNull();
    expect(await control().requestStop(id)).toBe(false);
  });

  it('clears only its own turn', async () => {
    const id = randomUUID();
    const first = control();
    const old = first.begin(id);
    await first.idle();
    const second = control();
    const current = second.begin(id);
    await second.idle();
    old.end();
    await first.idle();
    expect(await control().runningSince(id)).not.toBeNull();
    current.end();
    await second.idle();
    expect(await control().runningSince(id)).toBeNull();
  });
});
