import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeBotApi } from '../../../test/support/fake-bot-api.js';
import { Ingress } from '../../core/pipeline/ingress.js';
import type { EnqueueResult, JobSink } from '../../ports/job-queue.js';
import { ALLOWED_UPDATES } from './allowed-updates.js';
import { TelegramBot } from './telegram-bot.js';

// Telegram keeps the update types it was last told (an earlier webhook's
// list, or its default): the bot names its own each time it asks for updates.

const nowhere: JobSink = { enqueue: async (): Promise<EnqueueResult> => 'enqueued' };

describe('the update types the bot asks Telegram for', () => {
  let api: FakeBotApi;
  let bot: TelegramBot;

  beforeEach(async () => {
    api = await FakeBotApi.start();
    bot = new TelegramBot({
      token: api.token,
      apiRoot: api.apiRoot,
      tenant: 'test',
      access: { allowedUserIds: new Set(['1']), allowedChatIds: new Set(), openToAll: false },
      ingress: new Ingress({ queue: nowhere }),
    });
  });

  afterEach(async () => {
    await bot.stop();
    await api.stop();
  });

  it('include button presses and the draft’s stop button', () => {
    expect(ALLOWED_UPDATES).toEqual(
      expect.arrayContaining(['message', 'callback_query', 'stopped_message_generation']),
    );
  });

  it('are named in every long poll (getUpdates)', async () => {
    await bot.startPolling();
    await expect.poll(() => api.lastPoll).toBeDefined();
    expect(api.lastPoll?.allowed_updates).toEqual([...ALLOWED_UPDATES]);
  });

  it('are named when the local server registers its webhook', async () => {
    await bot.startWebhook({
      url: 'https://bot.example.com/telegram/webhook',
      secret: 'webhook-secret-for-tests',
      host: '127.0.0.1',
      port: 0,
    });
    const [registered] = api.callsTo('setWebhook');
    expect(registered?.params.allowed_updates).toEqual([...ALLOWED_UPDATES]);
  });
});
