import { describe, expect, it } from 'vitest';
import type { AccessPolicy } from '../../domain/access-policy.js';
import { decodeButtonData, encodeButtonData, parseButtonPress } from './question-buttons.js';

const access: AccessPolicy = {
  allowedUserIds: new Set(['111']),
  allowedChatIds: new Set(['-100500']),
  openToAll: false,
};
const context = { tenant: 't', access, botId: 42 };
const ID = 'AbCdEfGhIjKlMnOpQrStUv';

function update(data: string, options: { chatId?: number; userId?: number; thread?: number } = {}) {
  return {
    update_id: 7,
    callback_query: {
      id: 'cbq-1',
      from: { id: options.userId ?? 111, is_bot: false, first_name: 'A' },
      chat_instance: 'x',
      data,
      message: {
        message_id: 9,
        date: 0,
        chat: { id: options.chatId ?? 111, type: 'private' },
        ...(options.thread ? { message_thread_id: options.thread, is_topic_message: true } : {}),
      },
    },
  };
}

describe('question button data', () => {
  it('round-trips every action within Telegram’s 64 bytes', () => {
    for (const action of [
      { type: 'choose', index: 3 },
      { type: 'toggle', index: 0 },
      { type: 'done' },
    ] as const) {
      const data = encodeButtonData(ID, action);
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      expect(decodeButtonData(data)).toEqual({ questionId: ID, action });
    }
    for (const bad of [
      '',
      'q:short:c1',
      `q:${ID}:x1`,
      `q:${ID}:c123`,
      `z:${ID}:d`,
      `q:${ID}:d:x`,
    ]) {
      expect(decodeButtonData(bad)).toBeUndefined();
    }
  });

  it('matches a press to the conversation of the chat (and topic) it was pressed in', () => {
    const press = parseButtonPress(
      update(encodeButtonData(ID, { type: 'choose', index: 1 })),
      context,
    );
    expect(press).toMatchObject({
      callbackQueryId: 'cbq-1',
      pressId: 'telegram:42:7',
      conversationId: 't:telegram:111:-',
      questionId: ID,
      action: { type: 'choose', index: 1 },
      allowed: true,
    });
    const inTopic = parseButtonPress(
      update(encodeButtonData(ID, { type: 'done' }), { chatId: -100500, userId: 555, thread: 12 }),
      context,
    );
    expect(inTopic).toMatchObject({ conversationId: 't:telegram:-100500:12', allowed: true });
    const stranger = parseButtonPress(
      update(encodeButtonData(ID, { type: 'done' }), { chatId: 999, userId: 999 }),
      context,
    );
    expect(stranger?.allowed).toBe(false);
  });

  it('leaves other buttons and updates alone', () => {
    expect(parseButtonPress(update('some-old-button'), context)).toBeUndefined();
    expect(parseButtonPress({ update_id: 1, message: {} }, context)).toBeUndefined();
    expect(parseButtonPress(null, context)).toBeUndefined();
  });
});
