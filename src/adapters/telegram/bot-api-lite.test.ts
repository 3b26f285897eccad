import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotApi } from '../../../test/support/fake-bot-api.js';
import { BotApiError, botApiLite } from './bot-api-lite.js';

describe('botApiLite', () => {
  let api: FakeBotApi;

  beforeAll(async () => {
    api = await FakeBotApi.start();
  });
  afterAll(() => api.stop());

  it('reads the identity and answers callback queries', async () => {
    const client = botApiLite({ token: api.token, apiRoot: `${api.apiRoot}/` });
    expect(await client.getMe()).toEqual({ id: api.botId, username: api.botUsername });
    await client.answerCallbackQuery('cb-9', 'hello');
    expect(api.callsTo('answerCallbackQuery').map((call) => call.params)).toEqual([
      { callback_query_id: 'cb-9', text: 'hello' },
    ]);
  });

  it("reports Telegram's refusals, and network failures without the token", async () => {
    api.failNext('answerCallbackQuery', {
      error_code: 400,
      description: 'Bad Request: query is too old',
    });
    const client = botApiLite({ token: api.token, apiRoot: api.apiRoot });
    const refused = client.answerCallbackQuery('cb-1', 'x');
    await expect(refused).rejects.toBeInstanceOf(BotApiError);
    await expect(refused).rejects.toThrow('answerCallbackQuery: 400 Bad Request: query is too old');

    const unreachable = botApiLite({
      token: 'secret-token',
      apiRoot: 'http://127.0.0.1:9',
      timeoutMs: 2_000,
    });
    const error = await unreachable.getMe().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BotApiError);
    expect(String(error)).not.toContain('secret-token');
  });
});
