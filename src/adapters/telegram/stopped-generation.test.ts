import { describe, expect, it } from 'vitest';
import { STOP_FROM_DRAFT } from '../../core/pipeline/answer-draft.js';
import { laneOf } from '../../domain/inbound-message.js';
import { normalizeUpdate } from './normalize-update.js';

const context = {
  bot: { id: 99, username: 'test_agent_bot' },
  tenant: 't',
  access: { openToAll: false, allowedUserIds: new Set(['42']), allowedChatIds: new Set<string>() },
  now: 1_000,
};

function stopped(chat: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { update_id: 7, stopped_message_generation: { chat, draft_id: 5, ...extra } };
}

describe('the stop button of a draft', () => {
  it('becomes a /stop of the conversation, on the control lane', () => {
    const result = normalizeUpdate(
      stopped({ id: 42, type: 'private', first_name: 'Ada' }),
      context,
    );
    expect(result.action).toBe('enqueue');
    if (result.action !== 'enqueue') return;
    expect(result.message).toMatchObject({
      id: 'telegram:99:7',
      conversation: { tenant: 't', channel: 'telegram', chatId: '42' },
      chatType: 'private',
      sender: { id: '42', name: 'Ada' },
      body: { kind: 'command', command: 'stop', args: STOP_FROM_DRAFT },
    });
    expect(result.message.conversation.threadId).toBeUndefined();
    expect(laneOf(result.message)).toBe('control');
  });

  it('keeps the thread of a private chat with topics', () => {
    const result = normalizeUpdate(
      stopped({ id: 42, type: 'private' }, { message_thread_id: 3 }),
      context,
    );
    expect(result.action === 'enqueue' && result.message.conversation.threadId).toBe('3');
  });

  it('drops a press by a person not let in, and a malformed one', () => {
    expect(normalizeUpdate(stopped({ id: 43, type: 'private' }), context).action).toBe('ignore');
    expect(normalizeUpdate(stopped({ id: 'x' }), context).action).toBe('ignore');
    expect(normalizeUpdate(stopped({ id: -5, type: 'supergroup' }), context).action).toBe('ignore');
  });
});
