import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LambdaWorker } from '../../src/entrypoints/aws/worker-handler.js';
import {
  type AwsPipeline,
  failures,
  secretArn,
  startAwsPipeline,
} from '../support/aws-pipeline.js';
import { FakeTranscriptionServer } from '../support/fake-transcription-server.js';
import { documentUpdate, photoUpdate, TINY_JPEG, voiceUpdate } from '../support/media-updates.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  toolResults,
} from '../support/scripted-model-server.js';

// Files a person sends, on the AWS deployment, offline: the ingress Lambda
// queues only the files' ids; the worker Lambda downloads them from the
// (fake) Bot API, transcribes voice with a key it reads from Secrets Manager
// (a fake secret source), and the real agent gets them in its workspace.

const TRANSCRIPTION_ARN = secretArn('transcription');
const CHAT = { document: 301, voice: 302, album: 303, groupAlbum: 304 };

let pipeline: AwsPipeline;
let transcription: FakeTranscriptionServer;
let worker: LambdaWorker;

function respond(request: RecordedRequest) {
  const text = lastUserText(request);
  if (text.includes('read the notes')) {
    const results = toolResults(request);
    if (!endsWithToolResult(request)) {
      return reply.toolUse('Read', { file_path: path.join(cwdOf(request), 'inbox', 'notes.md') });
    }
    return reply.text(`Read: ${results.at(-1)?.text.includes('TANGERINE') ? 'TANGERINE' : '?'}`);
  }
  return reply.text(`echo: ${text.split('\n')[0]}`);
}

/** Whether a tool's result came back after the person's latest message (this turn's Read). */
function endsWithToolResult(request: RecordedRequest): boolean {
  const messages = request.body.messages ?? [];
  let asked = -1;
  messages.forEach((message, index) => {
    if (JSON.stringify(message.content).includes('read the notes')) asked = index;
  });
  return messages
    .slice(asked + 1)
    .some(
      (message) =>
        Array.isArray(message.content) &&
        message.content.some((block) => block.type === 'tool_result'),
    );
}

/** The turn's working directory, as Claude Code states it in its system prompt. */
function cwdOf(request: RecordedRequest): string {
  const match = /Primary working directory: (\S+)|Working directory: (\S+)/.exec(
    JSON.stringify(request.body.system).replaceAll('\\n', '\n'),
  );
  return (match?.[1] ?? match?.[2] ?? '').trim();
}

const newWorker = () =>
  pipeline.worker({
    env: {
      TRANSCRIPTION_URL: transcription.url,
      TRANSCRIPTION_MODEL: 'whisper-aws',
      TRANSCRIPTION_API_KEY_SECRET_ARN: TRANSCRIPTION_ARN,
    },
  });

const answers = (chatId: number) =>
  pipeline.sentTexts(chatId).filter((text) => !text.startsWith('Working on it'));

/**
 * Receives until a delivery runs without failures: an album still younger
 * than its wait when it comes back (the emulator's visibility is 1 s, the
 * wait 1.5 s) is held back once more.
 */
async function deliverOnceWhole(running: typeof worker) {
  for (let receive = 1; ; receive++) {
    const delivery = await pipeline.deliverNext(running);
    if (failures(delivery.response).length === 0 || receive === 5) return delivery;
  }
}

beforeAll(async () => {
  [pipeline, transcription] = await Promise.all([
    startAwsPipeline({
      name: 'media',
      respond,
      // As on AWS, receives to spare beyond the attempts: a held-back album uses one or two.
      maxReceiveCount: 10,
      allowedUserIds: Object.values(CHAT).join(','),
      secrets: { [TRANSCRIPTION_ARN]: () => transcription.apiKey },
    }),
    FakeTranscriptionServer.start(),
  ]);
  worker = newWorker();
});

afterAll(async () => {
  await worker?.close();
  await Promise.all([pipeline?.close(), transcription?.stop()]);
});

describe('files a person sends (AWS)', () => {
  it('the worker downloads a document into the workspace, and the agent reads it', async () => {
    const chatId = CHAT.document;
    pipeline.api.addFile('aws-doc', '# Notes\nThe code word is TANGERINE.', {
      filePath: 'documents/n.md',
    });
    const from = { id: chatId, first_name: 'Ada' };
    const file = { fileId: 'aws-doc', fileName: 'notes.md', mimeType: 'text/markdown' };
    expect(
      (
        await pipeline.sendUpdate(
          documentUpdate({ chatId, from, caption: 'please read the notes', file }),
        )
      ).statusCode,
    ).toBe(200);
    // Ingress queued the file's id only; nothing was fetched before the worker ran.
    expect(pipeline.api.callsTo('getFile')).toHaveLength(0);
    const { records, response } = await pipeline.deliver(worker);
    expect(records).toHaveLength(1);
    expect(failures(response)).toEqual([]);
    expect(answers(chatId)).toEqual(['Read: TANGERINE']);
    const [, second] = pipeline.model.messageRequests.filter((request) =>
      lastUserText(request).includes('please read the notes'),
    );
    expect(toolResults(second as RecordedRequest).at(-1)?.text).toContain(
      'The code word is TANGERINE.',
    );
    // The download left nothing behind in the container's /tmp.
    expect(
      readdirSync(path.join(pipeline.dataDir, 'tmp')).filter((name) =>
        name.startsWith('agent-media-'),
      ),
    ).toEqual([]);

    // The file was saved with the workspace: a fresh container (empty /tmp) reads it again.
    await worker.close();
    await pipeline.emptyLocalDisk();
    worker = newWorker();
    await pipeline.sendText(chatId, 'read the notes again');
    const next = await pipeline.deliver(worker);
    expect(failures(next.response)).toEqual([]);
    expect(answers(chatId)).toEqual(['Read: TANGERINE', 'Read: TANGERINE']);
    const reread = pipeline.model.messageRequests.filter((request) =>
      lastUserText(request).includes('read the notes again'),
    );
    expect(toolResults(reread.at(-1) as RecordedRequest).at(-1)?.text).toContain(
      'The code word is TANGERINE.',
    );
  });

  it('transcribes a voice message with the key from Secrets Manager', async () => {
    const chatId = CHAT.voice;
    transcription.transcript = () => 'what is the weather on Lambda';
    pipeline.api.addFile('aws-voice', 'OggS voice bytes', { filePath: 'voice/v.oga' });
    await pipeline.sendUpdate(
      voiceUpdate({ chatId, from: { id: chatId }, file: { fileId: 'aws-voice' } }),
    );
    const { response } = await pipeline.deliver(worker);
    expect(failures(response)).toEqual([]);
    expect(answers(chatId)).toEqual([
      'echo: [voice message, transcribed] what is the weather on Lambda',
    ]);
    expect(transcription.requests.at(-1)).toMatchObject({
      authorization: `Bearer ${transcription.apiKey}`,
      model: 'whisper-aws',
    });
  });

  it('holds a new album back for its siblings, then answers it with one turn', async () => {
    const chatId = CHAT.album;
    const requestsBefore = pipeline.model.messageRequests.length;
    const jpeg = TINY_JPEG;
    pipeline.api.addFile('aws-a', jpeg, { filePath: 'photos/aws-a.jpg' });
    pipeline.api.addFile('aws-b', Buffer.concat([jpeg, Buffer.from([1])]), {
      filePath: 'photos/aws-b.jpg',
    });
    const album = { chatId, from: { id: chatId }, mediaGroupId: 'aws-album' };
    await pipeline.sendUpdate(
      photoUpdate({ ...album, caption: 'two views', file: { fileId: 'aws-a' } }),
    );
    await pipeline.sendUpdate(photoUpdate({ ...album, file: { fileId: 'aws-b' } }));
    // Received at once, the album is young: it goes back to wait for the rest of it.
    const early = await pipeline.deliverNext(worker);
    expect(failures(early.response)).toHaveLength(2);
    expect(pipeline.model.messageRequests).toHaveLength(requestsBefore);
    const { records, response } = await deliverOnceWhole(worker);
    expect(records).toHaveLength(2);
    expect(failures(response)).toEqual([]);
    expect(answers(chatId)).toEqual(['echo: two views']);
    const turns = pipeline.model.messageRequests.filter((request) =>
      lastUserText(request).startsWith('two views'),
    );
    expect(turns).toHaveLength(1);
    expect(lastUserText(turns[0] as RecordedRequest)).toMatch(
      /inbox\/photo-u-aws-a\.jpg.*\n.*inbox\/photo-u-aws-b\.jpg/,
    );
  });

  it('takes a whole album in a group when only one item, not the first, mentions the bot', async () => {
    const userId = CHAT.groupAlbum;
    const chatId = -userId;
    const album = { chatId, from: { id: userId }, mediaGroupId: 'aws-group-album' };
    for (const name of ['g1', 'g2', 'g3']) {
      pipeline.api.addFile(`aws-${name}`, Buffer.concat([TINY_JPEG, Buffer.from(name)]), {
        filePath: `photos/aws-${name}.jpg`,
      });
    }
    // Each update reaches another ingress instance: what the album needs is in the table.
    const fresh = () => pipeline.ingressFor(String(userId));
    await pipeline.sendUpdate(photoUpdate({ ...album, file: { fileId: 'aws-g1' } }), fresh());
    await pipeline.sendUpdate(
      photoUpdate({
        ...album,
        caption: `@${pipeline.api.botUsername} which one is sharpest?`,
        file: { fileId: 'aws-g2' },
      }),
      fresh(),
    );
    await pipeline.sendUpdate(photoUpdate({ ...album, file: { fileId: 'aws-g3' } }), fresh());
    expect(failures((await pipeline.deliverNext(worker)).response)).toHaveLength(3);
    const { records, response } = await deliverOnceWhole(worker);
    expect(records).toHaveLength(3);
    expect(failures(response)).toEqual([]);
    const turns = pipeline.model.messageRequests.filter((request) =>
      lastUserText(request).includes('which one is sharpest?'),
    );
    expect(turns).toHaveLength(1);
    expect(lastUserText(turns[0] as RecordedRequest)).toMatch(
      /photo-u-aws-g1\.jpg[\s\S]*photo-u-aws-g2\.jpg[\s\S]*photo-u-aws-g3\.jpg/,
    );
    expect(answers(chatId)).toHaveLength(1);
  });
});
