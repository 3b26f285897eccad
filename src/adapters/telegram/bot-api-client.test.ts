import { createServer, type Server, type Socket } from 'node:net';
import { HttpError } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotApi } from '../../../test/support/fake-bot-api.js';
import { testConversation } from '../../../test/support/inbound-messages.js';
import {
  BOT_API_TIMEOUT_SECONDS,
  botApiClientOptions,
  createBotApi,
  LONG_POLL_SECONDS,
  networkFailure,
} from './bot-api-client.js';
import { TelegramChannel } from './telegram-channel.js';

/** A port that takes connections and never answers (Telegram behind a dead network path). */
async function blackhole(): Promise<{ root: string; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    root: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe('the Bot API client', () => {
  let api: FakeBotApi;
  beforeAll(async () => {
    api = await FakeBotApi.start();
  });
  afterAll(() => api.stop());

  it('bounds every request, and long polling fits inside the bound', () => {
    expect(botApiClientOptions('http://x').timeoutSeconds).toBe(BOT_API_TIMEOUT_SECONDS);
    expect(BOT_API_TIMEOUT_SECONDS).toBeLessThanOrEqual(60);
    expect(LONG_POLL_SECONDS).toBeLessThan(BOT_API_TIMEOUT_SECONDS);
    expect(botApiClientOptions(undefined)).not.toHaveProperty('apiRoot');
  });

  it('fails a call to an unreachable Bot API instead of retrying it forever', async () => {
    const client = createBotApi(api.token, await closedPort());
    const error = await client.sendMessage(1, 'hello').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpError);
    // Said without the token (the request URL holds it).
    expect(networkFailure(error)).toMatch(/ECONNREFUSED/);
    expect(networkFailure(error)).not.toContain(api.token);
  });

  it('still waits out a short flood limit (429) and sends once', async () => {
    const client = createBotApi(api.token, api.apiRoot);
    api.failNext('sendMessage', {
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
    await client.sendMessage(31, 'after the flood');
    expect(api.sentMessages(31).map((message) => message.text)).toEqual(['after the flood']);
  });

  it('gives up on a long flood limit at once, leaving the retry to the job queue', async () => {
    const client = createBotApi(api.token, api.apiRoot);
    api.failNext('sendMessage', {
      error_code: 429,
      description: 'Too Many Requests: retry after 3600',
      parameters: { retry_after: 3600 },
    });
    await expect(client.sendMessage(32, 'later')).rejects.toMatchObject({ error_code: 429 });
  });

  it("aborts a channel's send that Telegram never answers when the signal fires", async () => {
    const hole = await blackhole();
    try {
      const shutdown = new AbortController();
      const channel = new TelegramChannel(createBotApi(api.token, hole.root), {
        signal: shutdown.signal,
      });
      const [part] = channel.formatPlain('into the void');
      const sending = channel.send(testConversation(33), part ?? {});
      const typing = channel.showTyping(testConversation(33));
      sending.catch(() => {});
      typing.catch(() => {});
      // Nothing settles while the request hangs (grammY's own timeout is 30 s).
      const early = await Promise.race([
        sending.then(
          () => 'settled',
          () => 'settled',
        ),
        new Promise((resolve) => setTimeout(() => resolve('pending'), 200)),
      ]);
      expect(early).toBe('pending');
      shutdown.abort(new Error('shutting down'));
      await expect(sending).rejects.toThrow();
      await expect(typing).rejects.toThrow();
    } finally {
      await hole.close();
    }
  });
});
