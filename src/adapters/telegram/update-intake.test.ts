import { describe, expect, it, vi } from 'vitest';
import { textMessageUpdate } from '../../../test/support/fake-bot-api.js';
import { ada, bot, intakeFixture } from '../../../test/support/update-intake-fixture.js';
import { MemoryRefusalLimiter } from '../memory/memory-refusal-limiter.js';
import { STALE_BUTTON_TEXT } from './update-intake.js';

const setup = intakeFixture;

/** A promise with its resolve function, to hold a call open. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const button = { update_id: 8, callback_query: { id: 'cb-1', from: ada, data: 'old' } };

describe('UpdateIntake', () => {
  it('hands a message for the bot to the ingress and says it was queued', async () => {
    const { intake, accepted } = setup();
    const outcome = await intake.take({
      update_id: 7,
      ...textMessageUpdate({ chatId: 42, text: 'hello', from: ada, messageId: 3 }),
    });
    expect(outcome).toEqual({ action: 'enqueued', updateId: 7, message: accepted[0] });
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({
      id: 'telegram:999:7',
      conversation: { tenant: 't1', channel: 'telegram', chatId: '42' },
      receivedAt: 1_000,
      body: { kind: 'text', text: 'hello' },
    });
  });

  it("passes the ingress's duplicate verdict on", async () => {
    const { intake } = setup({ ingress: { accept: async () => 'duplicate' } });
    const outcome = await intake.take({
      update_id: 7,
      ...textMessageUpdate({ chatId: 42, text: 'again', from: ada }),
    });
    expect(outcome.action).toBe('duplicate');
  });

  it('reads the bot identity when an update arrives, to tell what is addressed to it', async () => {
    let identity = { id: 1, username: 'someone_else_bot' };
    const { intake, accepted } = setup({ identity: () => identity });
    const mention = (updateId: number) => ({
      update_id: updateId,
      ...textMessageUpdate({ chatId: -100, text: 'hey @agent_bot', from: ada }),
    });
    expect((await intake.take(mention(1))).action).toBe('ignored');
    identity = bot;
    expect((await intake.take(mention(2))).action).toBe('enqueued');
    expect(accepted.map((message) => message.id)).toEqual(['telegram:999:2']);
  });

  it('ignores updates the bot does not handle, queueing nothing and answering nothing', async () => {
    const { intake, accepted, answered } = setup();
    const outcome = await intake.take({
      update_id: 20,
      channel_post: { message_id: 1, chat: { id: -5, type: 'channel' } },
    });
    expect(outcome).toMatchObject({ action: 'ignored', updateId: 20 });
    expect(outcome.action === 'ignored' && outcome.reason).toEqual(expect.any(String));
    expect(await intake.take('not even an object')).toMatchObject({
      action: 'ignored',
      updateId: undefined,
    });
    expect(accepted).toEqual([]);
    expect(answered).toEqual([]);
  });

  it('answers a stale button so it stops spinning, and waits for the answer by default', async () => {
    const { opened, open } = gate();
    const answered: string[] = [];
    const { intake, accepted } = setup({
      api: {
        async answerCallbackQuery(id, text) {
          await opened;
          answered.push(`${id}: ${text}`);
        },
      },
    });
    let settled = false;
    const taking = intake.take(button).then((outcome) => {
      settled = true;
      return outcome;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(settled).toBe(false);
    open();
    expect((await taking).action).toBe('ignored');
    expect(answered).toEqual([`cb-1: ${STALE_BUTTON_TEXT}`]);
    expect(accepted).toEqual([]);
  });

  it('answers in the background when asked, without holding the update up', async () => {
    const { opened, open } = gate();
    const answerCallbackQuery = vi.fn(() => opened);
    const { intake } = setup({ api: { answerCallbackQuery }, answerInBackground: true });
    expect((await intake.take(button)).action).toBe('ignored');
    expect(answerCallbackQuery).toHaveBeenCalledWith('cb-1', STALE_BUTTON_TEXT);
    open();
  });

  it('logs a failed button answer and carries on', async () => {
    const { intake, logger } = setup({
      api: {
        answerCallbackQuery: async () => {
          throw new Error('Bad Request: query is too old');
        },
      },
    });
    expect((await intake.take(button)).action).toBe('ignored');
    expect(logger.debug).toHaveBeenCalledWith('answerCallbackQuery failed', {
      error: 'Bad Request: query is too old',
    });

    const background = setup({
      answerInBackground: true,
      api: { answerCallbackQuery: () => Promise.reject(new Error('offline')) },
    });
    expect((await background.intake.take(button)).action).toBe('ignored');
    await vi.waitFor(() =>
      expect(background.logger.debug).toHaveBeenCalledWith('answerCallbackQuery failed', {
        error: 'offline',
      }),
    );
  });

  it('queues a refusal for a stranger and logs it', async () => {
    const { intake, accepted, logger } = setup();
    const stranger = { id: 777, first_name: 'Eve' };
    const outcome = await intake.take({
      update_id: 30,
      ...textMessageUpdate({ chatId: 777, text: 'let me in', from: stranger }),
    });
    expect(outcome.action).toBe('enqueued');
    expect(accepted[0]?.body.kind).toBe('refused');
    expect(logger.warn).toHaveBeenCalledWith(
      'refused a user not on the allowlist',
      expect.objectContaining({
        userId: '777',
        chatId: '777',
        // How to let them in is for the operator's log, not for the stranger.
        toAllow: expect.stringContaining('TELEGRAM_ALLOWED_USER_IDS'),
      }),
    );
    expect(JSON.stringify(accepted[0]?.body)).not.toContain('TELEGRAM_ALLOWED');
  });

  it('answers a stranger once, then stays silent however often they write', async () => {
    const { intake, accepted, logger } = setup();
    const stranger = { id: 778, first_name: 'Eve' };
    const outcomes = [];
    for (let updateId = 100; updateId < 140; updateId++) {
      outcomes.push(
        await intake.take({
          update_id: updateId,
          ...textMessageUpdate({ chatId: 778, text: 'let me in', from: stranger }),
        }),
      );
    }
    expect(accepted.map((message) => message.body)).toEqual([
      { kind: 'refused', hint: expect.stringContaining('778') },
    ]);
    expect(outcomes.slice(1).every((outcome) => outcome.action === 'ignored')).toBe(true);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('answers a refused person again once the quiet period is over, as the limiter says', async () => {
    let now = 1_000_000;
    const refusals = new MemoryRefusalLimiter({ quietMs: 60_000, now: () => now });
    const { intake, accepted } = setup({ refusals });
    const stranger = { id: 779, first_name: 'Eve' };
    const say = (updateId: number) =>
      intake.take({
        update_id: updateId,
        ...textMessageUpdate({ chatId: 779, text: 'hello?', from: stranger }),
      });
    await say(1);
    now += 59_000;
    await say(2);
    now += 2_000;
    await say(3);
    expect(accepted.map((message) => message.id)).toEqual([
      expect.stringMatching(/:1$/),
      expect.stringMatching(/:3$/),
    ]);
  });

  it('rejects when the ingress cannot store the message, so the update is not confirmed', async () => {
    const { intake } = setup({
      ingress: {
        accept: async () => {
          throw new Error('queue unavailable');
        },
      },
    });
    await expect(
      intake.take({ update_id: 40, ...textMessageUpdate({ chatId: 42, text: 'x', from: ada }) }),
    ).rejects.toThrow('queue unavailable');
  });
});
