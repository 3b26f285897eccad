import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotApi } from '../../../test/support/fake-bot-api.js';
import { FileTooLargeError } from '../../domain/attachment.js';
import { createBotApi } from './bot-api-client.js';
import { downloadTelegramFile } from './file-download.js';

let fake: FakeBotApi;
let dir = '';
beforeAll(async () => {
  fake = await FakeBotApi.start();
  dir = await mkdtemp(path.join(tmpdir(), 'file-download-'));
});
afterAll(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

const api = () => createBotApi(fake.token, fake.apiRoot);

describe('downloadTelegramFile', () => {
  it('fetches a file through getFile and the Bot API server it was given (apiRoot)', async () => {
    fake.addFile('f1', 'hello file', { filePath: 'documents/file_9.txt' });
    const destination = path.join(dir, 'one');
    expect(await downloadTelegramFile(api(), 'f1', destination, { maxBytes: 100 })).toEqual({
      bytes: 10,
    });
    expect(await readFile(destination, 'utf8')).toBe('hello file');
    expect(fake.downloads).toContain('documents/file_9.txt');
  });

  it('refuses a file over the cap, by its stated size, its length, or while it streams, leaving nothing', async () => {
    const big = Buffer.alloc(5000, 1);
    fake.addFile('stated', big, { filePath: 'documents/stated' });
    fake.addFile('length', big, { filePath: 'documents/length', reportedSize: null });
    fake.addFile('stream', big, {
      filePath: 'documents/stream',
      reportedSize: null,
      chunked: true,
    });
    for (const fileId of ['stated', 'length', 'stream']) {
      const destination = path.join(dir, fileId);
      const error = await downloadTelegramFile(api(), fileId, destination, {
        maxBytes: 1000,
      }).catch((caught: unknown) => caught);
      expect(FileTooLargeError.isInstance(error), fileId).toBe(true);
      expect(existsSync(destination)).toBe(false);
    }
    expect(fake.downloads).not.toContain('documents/stated');
    // No partial file beside the destinations either.
    expect((await readdir(dir)).filter((name) => name.endsWith('.part'))).toEqual([]);
  });

  it("reads Telegram's own 'file is too big' as over the limit", async () => {
    fake.failNext('getFile', { error_code: 400, description: 'Bad Request: file is too big' });
    const error = await downloadTelegramFile(api(), 'huge', path.join(dir, 'huge'), {
      maxBytes: 1000,
    }).catch((caught: unknown) => caught);
    expect(FileTooLargeError.isInstance(error)).toBe(true);
  });

  it('keeps the bot token out of its errors', async () => {
    // A path the fake does not find once decoded: the download answers 404.
    fake.addFile('unserved', 'x', { filePath: 'documents/a%2Fb' });
    const error = await downloadTelegramFile(api(), 'unserved', path.join(dir, 'unserved'), {
      maxBytes: 1000,
    }).catch((caught: unknown) => caught);
    expect(String(error)).toMatch(/HTTP 404/);
    expect(String((error as Error).stack)).not.toContain(fake.token);
  });
});
