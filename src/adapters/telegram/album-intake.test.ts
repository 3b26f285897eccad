import { describe, expect, it } from 'vitest';
import { photoUpdate } from '../../../test/support/media-updates.js';
import { ada, intakeFixture } from '../../../test/support/update-intake-fixture.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import { InMemoryAlbumGate } from '../memory/in-memory-album-gate.js';
import type { UpdateIntakeOptions } from './update-intake.js';

function setup(overrides: Partial<UpdateIntakeOptions> = {}) {
  const { intake, accepted } = intakeFixture({ albums: new InMemoryAlbumGate(), ...overrides });
  let nextUpdate = 1;
  const take = (update: Record<string, unknown>) =>
    intake.take({ update_id: nextUpdate++, ...update });
  return { take, accepted };
}

function item(
  index: number,
  options: { chatId?: number; caption?: string; from?: typeof ada; group?: string } = {},
) {
  return photoUpdate({
    chatId: options.chatId ?? -100,
    from: options.from ?? ada,
    messageId: 10 + index,
    mediaGroupId: options.group ?? 'g1',
    file: { fileId: `f${index}` },
    ...(options.caption !== undefined ? { caption: options.caption } : {}),
  });
}

const ids = (messages: InboundMessage[]) => messages.map((message) => message.messageId);

describe('albums in groups (UpdateIntake)', () => {
  it('takes the items after the one that mentions the bot', async () => {
    const { take, accepted } = setup();
    expect((await take(item(0, { caption: '@agent_bot look' }))).action).toBe('enqueued');
    expect((await take(item(1))).action).toBe('enqueued');
    expect((await take(item(2))).action).toBe('enqueued');
    expect(ids(accepted)).toEqual(['10', '11', '12']);
    const [first] = accepted;
    expect(first?.body).toMatchObject({ kind: 'media', text: 'look' });
  });

  it('holds the items before it and takes them first, in their order', async () => {
    const { take, accepted } = setup();
    expect(await take(item(0))).toMatchObject({
      action: 'ignored',
      reason: 'album item held back',
    });
    expect((await take(item(1))).action).toBe('ignored');
    expect(accepted).toEqual([]);
    await take(item(2, { caption: '@agent_bot which?' }));
    expect(ids(accepted)).toEqual(['10', '11', '12']);
  });

  it('leaves alone an album no item of which is for the bot, and the same album id in another chat', async () => {
    const { take, accepted } = setup();
    await take(item(0, { caption: 'holiday' }));
    await take(item(1));
    await take(item(0, { chatId: -200, caption: '@agent_bot here', group: 'g2' }));
    await take(item(1, { chatId: -100, group: 'g2' }));
    expect(ids(accepted)).toEqual(['10']);
    expect(accepted[0]?.conversation.chatId).toBe('-200');
  });

  it('neither holds nor refuses the album items of a person not allowed', async () => {
    const { take, accepted } = setup();
    const eve = { id: 7, first_name: 'Eve' };
    expect((await take(item(0, { from: eve }))).action).toBe('ignored');
    const captioned = await take(item(1, { from: eve, caption: '@agent_bot hi' }));
    expect(captioned.action).toBe('enqueued');
    expect(accepted.map((message) => message.body.kind)).toEqual(['refused']);
    expect((await take(item(2, { from: eve }))).action).toBe('ignored');
  });

  it('takes only the addressed item without an album gate', async () => {
    const { take, accepted } = setup({ albums: undefined });
    await take(item(0));
    await take(item(1, { caption: '@agent_bot look' }));
    await take(item(2));
    expect(ids(accepted)).toEqual(['11']);
  });
});
