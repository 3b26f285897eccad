import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEND_FILE_TOOL_NAME } from '../../src/domain/outgoing-file.js';
import { texts } from '../../src/texts/en.js';
import { type AwsPipeline, failures, startAwsPipeline } from '../support/aws-pipeline.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  toolResults,
} from '../support/scripted-model-server.js';

// Files out on the AWS deployment: the worker Lambda's agent writes a file
// and sends it; the staged copy lives in the container's /tmp (DATA_DIR),
// so an answer redelivered on another container tells the person the file
// was lost instead of failing.

const MAX_ATTEMPTS = 3;
const CHART = 'PNG chart bytes';

let pipeline: AwsPipeline;

function respond(request: RecordedRequest) {
  const results = toolResults(request);
  if (lastUserText(request).includes('chart')) {
    if (results.length === 0)
      return reply.toolUse('Write', { file_path: 'chart.png', content: CHART });
    if (results.length === 1) return reply.toolUse(SEND_FILE_TOOL_NAME, { path: 'chart.png' });
    return reply.text('Here is the chart.');
  }
  return reply.text(`echo: ${lastUserText(request)}`);
}

/**
 * Queue messages are hidden for a minute: long enough for a turn that
 * succeeds (its delete must come first). One meant to come back is hidden
 * for a second.
 */
const SUCCEEDING = { visibilitySeconds: 60 };
const COMING_BACK = { visibilitySeconds: 1 };

async function stagedFiles(): Promise<string[]> {
  const entries = await readdir(path.join(pipeline.dataDir, 'outgoing-files'), {
    recursive: true,
    withFileTypes: true,
  }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

beforeAll(async () => {
  pipeline = await startAwsPipeline({
    name: 'send-file',
    respond,
    allowedUserIds: '301,302',
    maxAttempts: MAX_ATTEMPTS,
    worker: { retryDelaySeconds: () => 0 },
  });
});

afterAll(async () => {
  await pipeline?.close();
});

describe('AWS: files the agent sends', () => {
  it('the worker Lambda sends the file after the answer and leaves no staged copy', async () => {
    const { api } = pipeline;
    const chatId = 301;
    await pipeline.withWorker(async (worker) => {
      expect((await pipeline.sendText(chatId, 'draw the chart')).statusCode).toBe(200);
      const { records, response } = await pipeline.deliverNext(worker, SUCCEEDING);
      expect(records).toHaveLength(1);
      expect(failures(response)).toEqual([]);
    });
    expect(pipeline.sentTexts(chatId)).toEqual(['Here is the chart.']);
    const files = api.sentFiles(chatId);
    expect(files.map((file) => [file.method, file.filename])).toEqual([['sendPhoto', 'chart.png']]);
    expect(files[0]?.data.toString()).toBe(CHART);
    expect(await stagedFiles()).toEqual([]);
  });

  it('a redelivery on another container, whose /tmp never had the file, says it was lost and settles', async () => {
    const { api, model } = pipeline;
    const chatId = 302;
    // Telegram fails the upload on the first receive (every bounded retry of it).
    api.failNext('sendPhoto', { error_code: 500, description: 'Internal Server Error' }, 4);
    await pipeline.withWorker(async (first) => {
      await pipeline.sendText(chatId, 'draw the chart again');
      const { records, response } = await pipeline.deliverNext(first, COMING_BACK);
      expect(failures(response)).toEqual(records.map((record) => record.messageId));
    });
    // The answer's text went and was ticked off; the file waits in this container's /tmp.
    expect(pipeline.sentTexts(chatId)).toEqual(['Here is the chart.']);
    expect(await stagedFiles()).toHaveLength(1);
    const turns = model.messageRequests.length;

    // A cold container: nothing on local disk.
    await pipeline.emptyLocalDisk();
    await pipeline.withWorker(async (second) => {
      const { response } = await pipeline.deliverNext(second, SUCCEEDING);
      expect(failures(response)).toEqual([]);
    });
    expect(model.messageRequests.length).toBe(turns);
    expect(api.sentFiles(chatId)).toEqual([]);
    expect(pipeline.sentTexts(chatId)).toEqual([
      'Here is the chart.',
      texts.fileNotDelivered('chart.png'),
    ]);
  });
});
