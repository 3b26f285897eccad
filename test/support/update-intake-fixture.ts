import { vi } from 'vitest';
import {
  type IntakeBotApi,
  UpdateIntake,
  type UpdateIntakeOptions,
} from '../../src/adapters/telegram/update-intake.js';
import type { AccessPolicy } from '../../src/domain/access-policy.js';
import type { InboundMessage } from '../../src/domain/inbound-message.js';
import type { EnqueueResult } from '../../src/ports/job-queue.js';
import { silentLogger } from '../../src/ports/logger.js';

/** The bot the intake answers as. */
export const bot = { id: 999, username: 'agent_bot' };
/** The one person allowed. */
export const ada = { id: 42, first_name: 'Ada' };
export const onlyAda: AccessPolicy = {
  allowedUserIds: new Set(['42']),
  allowedChatIds: new Set(),
  openToAll: false,
};

/** An intake over a recording ingress and Bot API; `overrides` replace any part. */
export function intakeFixture(overrides: Partial<UpdateIntakeOptions> = {}) {
  const accepted: InboundMessage[] = [];
  const answered: Array<{ id: string; text: string }> = [];
  const logger = { ...silentLogger, debug: vi.fn(), warn: vi.fn() };
  const api: IntakeBotApi = {
    async answerCallbackQuery(id, text) {
      answered.push({ id, text });
    },
  };
  const intake = new UpdateIntake({
    tenant: 't1',
    access: onlyAda,
    ingress: {
      async accept(message): Promise<EnqueueResult> {
        accepted.push(message);
        return 'enqueued';
      },
    },
    api,
    identity: () => bot,
    logger,
    now: () => 1_000,
    ...overrides,
  });
  return { intake, accepted, answered, logger };
}
