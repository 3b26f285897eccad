import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeChannel } from '../../../test/support/fake-channel.js';
import { testMessage } from '../../../test/support/inbound-messages.js';
import { type Attachment, FileTooLargeError } from '../../domain/attachment.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import type { Channel } from '../../ports/channel.js';
import { silentLogger } from '../../ports/logger.js';
import type { Transcriber } from '../../ports/transcriber.js';
import { texts } from '../../texts/en.js';
import { type MediaSettings, prepareInboundMedia, withNotices } from './inbound-media.js';

let tempRoot = '';
beforeEach(async () => {
  tempRoot = await mkdtemp(path.join(tmpdir(), 'inbound-media-'));
});
afterEach(async () => {
  await rm(tempRoot, { recursive: true, force: true });
});

/** A channel whose files are `files` (by file id); `tooLarge` ones fail as over the limit. */
function channelWith(files: Record<string, string>, tooLarge: string[] = []) {
  const downloads: string[] = [];
  const channel: Channel = Object.assign(new FakeChannel(), {
    async downloadFile(fileId: string, destination: string, options: { maxBytes: number }) {
      downloads.push(fileId);
      if (tooLarge.includes(fileId)) throw new FileTooLargeError(undefined, options.maxBytes);
      const content = files[fileId];
      if (content === undefined) throw new Error(`no file ${fileId}`);
      await writeFile(destination, content);
      return { bytes: Buffer.byteLength(content) };
    },
  });
  return { channel, downloads };
}

const file = (fileId: string, extra: Partial<Attachment> = {}): Attachment => ({
  kind: 'document',
  fileId,
  fileUniqueId: `u-${fileId}`,
  ...extra,
});

function media(text: string, ...attachments: Attachment[]): InboundMessage {
  return testMessage({ body: { kind: 'media', text, attachments } });
}

function prepare(
  messages: InboundMessage[],
  channel: Channel,
  settings: Partial<MediaSettings> = {},
  steps: string[] = [],
) {
  return prepareInboundMedia(messages, {
    channel,
    settings: { maxDownloadBytes: 1000, tempRoot, ...settings },
    logger: silentLogger,
    onStep: (line) => steps.push(line),
  });
}

describe('prepareInboundMedia', () => {
  it('leaves texts alone: no download, no temporary directory', async () => {
    const { channel, downloads } = channelWith({});
    const messages = [testMessage({ text: 'hello' })];
    const prepared = await prepare(messages, channel);
    expect(prepared).toMatchObject({ messages, attachments: [], notices: [] });
    expect(downloads).toEqual([]);
    expect(await readdir(tempRoot)).toEqual([]);
  });

  it('downloads each file once (its own and the replied-to one), saying so, and disposes of them', async () => {
    const { channel, downloads } = channelWith({ a: 'alpha', b: 'beta' });
    const reply = testMessage({ text: 'and this?' });
    reply.replyTo = { text: 'earlier', attachment: file('b', { fileName: 'b.csv' }) };
    const steps: string[] = [];
    const prepared = await prepare(
      [media('look', file('a', { fileName: 'a.txt', mimeType: 'text/plain' })), reply],
      channel,
      {},
      steps,
    );
    expect(downloads).toEqual(['a', 'b']);
    expect(steps).toEqual(['Downloading a.txt', 'Downloading b.csv']);
    expect(prepared.attachments).toMatchObject([
      { kind: 'document', fileName: 'a.txt', mimeType: 'text/plain', size: 5 },
      { kind: 'document', fileName: 'b.csv', size: 4, fromReply: true },
    ]);
    expect(await readFile(prepared.attachments[0]?.path as string, 'utf8')).toBe('alpha');
    await prepared.dispose();
    expect(existsSync(prepared.attachments[0]?.path as string)).toBe(false);
    expect(await readdir(tempRoot)).toEqual([]);
  });

  it('refuses a batch with a file over the limit before downloading anything, or when the channel finds it too big', async () => {
    const { channel, downloads } = channelWith({ a: 'alpha' }, ['big']);
    const known = await prepare(
      [media('x', file('a')), media('y', file('huge', { fileName: 'huge.zip', size: 5000 }))],
      channel,
    );
    expect(known.refusal).toBe(texts.media.tooLarge('huge.zip', 5000, 1000));
    expect(downloads).toEqual([]);

    const found = await prepare(
      [media('x', file('a'), file('big', { fileName: 'big.iso' }))],
      channel,
    );
    expect(found.refusal).toBe(texts.media.tooLarge('big.iso', undefined, 1000));
    expect(found.attachments).toEqual([]);
    // The file downloaded before it is gone too: nothing half-kept.
    expect(await readdir(tempRoot)).toEqual([]);
  });

  it('leaves out a replied-to file over the limit: it is only context', async () => {
    const { channel } = channelWith({}, ['big']);
    const reply = testMessage({ text: 'what was that?' });
    reply.replyTo = { attachment: file('big', { fileName: 'old.iso' }) };
    const prepared = await prepare([reply], channel);
    expect(prepared.refusal).toBeUndefined();
    expect(prepared.attachments).toEqual([]);
  });

  it('makes a voice message its transcript, marked, before the caption; audio stays a file too', async () => {
    const { channel } = channelWith({ v: 'ogg', m: 'mp3' });
    const heard: string[] = [];
    const transcriber: Transcriber = {
      async transcribe(recording) {
        heard.push(await readFile(recording.path, 'utf8'));
        return `words in ${recording.fileName}`;
      },
    };
    const steps: string[] = [];
    const prepared = await prepare(
      [
        media('', file('v', { kind: 'voice', mimeType: 'audio/ogg', fileUniqueId: 'voice1' })),
        media('my song', file('m', { kind: 'audio', fileName: 'song.mp3' })),
      ],
      channel,
      { transcriber },
      steps,
    );
    expect(heard).toEqual(['ogg', 'mp3']);
    expect(steps).toContain('Transcribing voice message');
    expect(prepared.messages.map((message) => message.body)).toMatchObject([
      { kind: 'media', text: '[voice message, transcribed] words in voice-voice1.ogg' },
      { kind: 'media', text: '[audio, transcribed] words in song.mp3\nmy song' },
    ]);
    expect(prepared.attachments).toMatchObject([{ kind: 'audio', transcribed: true }]);
    expect(prepared.notices).toEqual([]);
  });

  it('without a transcriber (or when it fails) keeps the recording as a file and says why', async () => {
    const { channel } = channelWith({ v: 'ogg' });
    const voice = () => media('', file('v', { kind: 'voice' }));
    const none = await prepare([voice()], channel);
    expect(none.attachments).toMatchObject([{ kind: 'voice' }]);
    expect(none.notices).toEqual([texts.media.noTranscription]);
    expect(withNotices('The answer.', none.notices)).toBe(
      `The answer.\n\n${texts.media.noTranscription}`,
    );

    const failing: Transcriber = {
      transcribe: () => Promise.reject(new Error('503 from the service')),
    };
    const failed = await prepare([voice()], channel, { transcriber: failing });
    expect(failed.attachments).toMatchObject([{ kind: 'voice' }]);
    expect(failed.notices).toEqual([texts.media.transcriptionFailed]);
  });

  it('throws (the batch is retried) when a download fails otherwise, leaving nothing', async () => {
    const { channel } = channelWith({ a: 'alpha' });
    await expect(prepare([media('x', file('a'), file('missing'))], channel)).rejects.toThrow(
      /no file missing/,
    );
    expect(await readdir(tempRoot)).toEqual([]);
  });
});
