import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textMessageUpdate } from '../support/fake-bot-api.js';
import { ALLOWED_USER, TelegramHarness } from '../support/telegram-harness.js';

// Webhook mode: Telegram POSTs updates to the local server, which answers as
// soon as each update is queued.

const SECRET = 'webhook-secret-for-tests-only';
let harness: TelegramHarness;
let endpoint = '';

beforeAll(async () => {
  harness = await TelegramHarness.create();
  const app = await harness.startApp({
    TELEGRAM_WEBHOOK_URL: 'https://bot.example.test/telegram/hook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    WEBHOOK_HOST: '127.0.0.1',
    WEBHOOK_PORT: '0',
  });
  endpoint = `http://127.0.0.1:${app.webhookPort}/telegram/hook`;
});

afterAll(async () => {
  await harness.close();
});

function post(body: unknown, secret = SECRET): Promise<Response> {
  return fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify(body),
  });
}

describe('local server (webhook)', () => {
  it('registered the webhook with its secret instead of polling', () => {
    expect(harness.api.callsTo('setWebhook')[0]?.params).toMatchObject({
      url: 'https://bot.example.test/telegram/hook',
      secret_token: SECRET,
    });
    expect(harness.api.callsTo('deleteWebhook')).toHaveLength(0);
  });

  it('acknowledges updates, answers once per update_id, and rejects a wrong secret', async () => {
    const chatId = 7001;
    const update = {
      update_id: 424_242,
      ...textMessageUpdate({ chatId, text: 'via webhook', from: ALLOWED_USER }),
    };
    expect((await post(update, 'wrong-secret-wrong-secret')).status).toBe(401);
    expect((await post(update)).status).toBe(200);
    // Telegram retrying the same update (e.g. after a timeout) changes nothing.
    expect((await post(update)).status).toBe(200);
    await harness.api.waitFor(
      () => harness.api.sentMessages(chatId).length === 1,
      30_000,
      'the reply',
    );
    await post({
      update_id: 424_243,
      ...textMessageUpdate({ chatId, text: 'second', from: ALLOWED_USER }),
    });
    await harness.api.waitFor(
      () => harness.api.sentMessages(chatId).length === 2,
      30_000,
      'the second reply',
    );
    expect(harness.api.sentMessages(chatId).map((message) => message.text)).toEqual([
      'echo: via webhook',
      'echo: second',
    ]);
  });

  it('answers a body that is not JSON with 400, so it is not retried', async () => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
      body: '{not json',
    });
    expect(response.status).toBe(400);
  });

  it('answers a body that is JSON but not an update (null, an array) with 400', async () => {
    expect((await post(null)).status).toBe(400);
    expect((await post([1, 2, 3])).status).toBe(400);
    expect((await post({ hello: 'world' })).status).toBe(400);
  });

  it('refuses a body over the size limit with 413 before parsing it, and queues nothing', async () => {
    const chatId = 7002;
    const huge = {
      update_id: 424_300,
      ...textMessageUpdate({ chatId, text: 'x'.repeat(5_000_000), from: ALLOWED_USER }),
    };
    expect((await post(huge)).status).toBe(413);
    // The same without a Content-Length (chunked): counted while reading.
    const body = JSON.stringify(huge);
    const chunked = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < body.length; at += 64 * 1024) {
            controller.enqueue(new TextEncoder().encode(body.slice(at, at + 64 * 1024)));
          }
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    // Nothing was queued: a later message is the only one answered.
    await post({
      update_id: 424_301,
      ...textMessageUpdate({ chatId, text: 'small one', from: ALLOWED_USER }),
    });
    await harness.api.waitFor(() => harness.api.sentMessages(chatId).length === 1, 30_000);
    expect(harness.api.sentMessages(chatId).map((message) => message.text)).toEqual([
      'echo: small one',
    ]);
    expect(harness.turnsAsking('xxxx')).toHaveLength(0);
  });
});
