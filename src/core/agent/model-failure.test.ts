import { describe, expect, it } from 'vitest';
import { failedTurnRequestBound, modelFailureSettings } from './model-failure.js';

describe('modelFailureSettings', () => {
  it('shares the notice time among the requests a silent model can cost', () => {
    const settings = modelFailureSettings();
    expect(settings).toMatchObject({ noticeWithinMs: 120_000, maxRetries: 1 });
    const bound = failedTurnRequestBound();
    expect(bound).toBe(3);
    // Every try waiting its full timeout still tells the person in time.
    expect(bound * settings.firstByteTimeoutMs).toBeLessThanOrEqual(settings.noticeWithinMs);
    expect(settings.idleTimeoutMs).toBe(settings.firstByteTimeoutMs);
  });

  it('keeps timeouts that are set, and grows the bound with the retries', () => {
    expect(
      modelFailureSettings({ firstByteTimeoutMs: 400, idleTimeoutMs: 300, maxRetries: 3 }),
    ).toMatchObject({ firstByteTimeoutMs: 400, idleTimeoutMs: 300, maxRetries: 3 });
    expect(failedTurnRequestBound({ maxRetries: 3 })).toBe(5);
    expect(failedTurnRequestBound({ maxRetries: 0 })).toBe(2);
  });
});
