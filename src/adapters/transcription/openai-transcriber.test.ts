import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTranscriptionServer } from '../../../test/support/fake-transcription-server.js';
import { OpenAiTranscriber, TranscriptionError, transcriptionUrl } from './openai-transcriber.js';

let server: FakeTranscriptionServer;
let dir = '';
let recording = '';
beforeAll(async () => {
  server = await FakeTranscriptionServer.start('sk-transcribe-secret');
  dir = await mkdtemp(path.join(tmpdir(), 'transcriber-'));
  recording = path.join(dir, 'voice.ogg');
  await writeFile(recording, 'OggS voice');
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

const file = () => ({ path: recording, fileName: 'voice.ogg', mimeType: 'audio/ogg' });

describe('OpenAiTranscriber', () => {
  it('posts the file as multipart with the model and the bearer key, and returns the text', async () => {
    server.transcript = () => '  Hello there.  ';
    const transcriber = new OpenAiTranscriber({
      url: server.url,
      apiKey: 'sk-transcribe-secret',
      model: 'whisper-1',
    });
    expect(await transcriber.transcribe(file())).toBe('Hello there.');
    expect(server.requests.at(-1)).toMatchObject({
      authorization: 'Bearer sk-transcribe-secret',
      model: 'whisper-1',
      fileName: 'voice.ogg',
      fileType: 'audio/ogg',
      content: Buffer.from('OggS voice'),
    });
  });

  it('fails with a reason, never the key, when the service refuses or fails', async () => {
    const wrongKey = new OpenAiTranscriber({ url: server.url, apiKey: 'sk-wrong', model: 'm' });
    const refused = await wrongKey.transcribe(file()).catch((error: unknown) => error);
    expect(TranscriptionError.isInstance(refused)).toBe(true);
    expect(String(refused)).toMatch(/HTTP 401/);
    expect(String(refused)).not.toContain('sk-wrong');

    server.failWith = 503;
    const right = new OpenAiTranscriber({ url: server.url, apiKey: server.apiKey, model: 'm' });
    await expect(right.transcribe(file())).rejects.toThrow(/HTTP 503/);
    server.failWith = undefined;
  });

  it('takes the endpoint, a /v1 base or a bare base URL', () => {
    const endpoint = 'https://api.example.com/v1/audio/transcriptions';
    expect(transcriptionUrl(endpoint)).toBe(endpoint);
    expect(transcriptionUrl('https://api.example.com/v1/')).toBe(endpoint);
    expect(transcriptionUrl('https://api.example.com')).toBe(endpoint);
  });
});
