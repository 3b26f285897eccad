import { describe, expect, it } from 'vitest';
import { loadRuntimeSettings } from '../../config/runtime-settings.js';
import { HANDLER_ENV } from './handler-env.js';

// The stack writes these names (infra/lib/functions.ts); the worker reads
// them through the runtime's own settings. A name that drifts on one side
// would leave the deployed setting silently ignored.
describe('HANDLER_ENV and the runtime settings the worker reads', () => {
  it('reaches the small fast model and the model-failure bounds by the names the stack writes', () => {
    const settings = loadRuntimeSettings({
      [HANDLER_ENV.useBedrock]: '1',
      AWS_REGION: 'us-east-1',
      [HANDLER_ENV.model]: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      [HANDLER_ENV.smallFastModel]: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
      [HANDLER_ENV.modelNoticeSeconds]: '60',
      [HANDLER_ENV.modelMaxRetries]: '0',
      [HANDLER_ENV.turnTimeLimitMinutes]: '12',
      [HANDLER_ENV.maxContinuations]: '2',
    });
    expect(settings.maxContinuations).toBe(2);
    expect(settings.model).toBe('us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(settings.modelAccess).toEqual({
      provider: 'bedrock',
      region: 'us-east-1',
      smallFastModel: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    });
    expect(settings.modelFailure).toEqual({
      noticeWithinMs: 60_000,
      maxRetries: 0,
      turnTimeLimitMs: 720_000,
    });
  });
});
