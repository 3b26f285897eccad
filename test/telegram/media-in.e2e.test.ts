import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppSettings } from '../../src/config/app-settings.js';
import { workspacePath } from '../../src/core/agent/workspace.js';
import { startLocalApp } from '../../src/entrypoints/local-app.js';
import { texts } from '../../src/texts/en.js';
import { textMessageUpdate } from '../support/fake-bot-api.js';
import { FakeTranscriptionServer } from '../support/fake-transcription-server.js';
import { documentUpdate, photoUpdate, TINY_JPEG, voiceUpdate } from '../support/media-updates.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  toolResults,
} from '../support/scripted-model-server.js';
import { eventually } from '../support/server-process.js';
import { testChat } from '../support/telegram-chats.js';
import { ALLOWED_USER, TelegramHarness } from '../support/telegram-harness.js';

// Files a person sends, end to end on the local server: grammY long polling
// against the fake Bot API (which serves getFile and the file downloads), the
// SQLite queue, the worker downloading and transcribing (against a fake
// OpenAI-compatible transcription server), and real Claude Code turns
// against the scripted model server.

const JPEG = TINY_JPEG;

let harness: TelegramHarness;
let transcription: FakeTranscriptionServer;
let nextChat = 7000;

beforeAll(async () => {
  harness = await TelegramHarness.create();
  transcription = await FakeTranscriptionServer.start();
  transcription.transcript = () => 'please remind me to buy milk';
  harness.respond = (request) => {
    const text = lastUserText(request);
    // Reads the file it was told about, then answers with what it read.
    if (text.includes('what is in it?')) {
      const results = toolResults(request);
      if (results.length === 0) {
        return reply.toolUse('Read', { file_path: inboxPathIn(request, 'report.txt') });
      }
      return reply.text(`It says: ${results.at(-1)?.text.includes('4711') ? '4711' : 'nothing'}`);
    }
    return reply.text(`echo: ${text.split('\n')[0]}`);
  };
  const env = harness.env({
    MAX_DOWNLOAD_MB: '1',
    TRANSCRIPTION_URL: transcription.url,
    TRANSCRIPTION_API_KEY: transcription.apiKey,
    TRANSCRIPTION_MODEL: 'whisper-test',
  });
  // The status message at once, so the download's line can be seen.
  harness.app = await startLocalApp(loadAppSettings(env, harness.root), env, {
    progress: { delayMs: 0, editIntervalMs: 0 },
  });
});

afterAll(async () => {
  await harness.close();
  await transcription.stop();
});

/** The absolute path of a file in the inbox of the workspace this request's turn runs in. */
function inboxPathIn(request: RecordedRequest, name: string): string {
  const chatId = Number(/chat (\d+)/.exec(lastUserText(request))?.[1]);
  return path.join(workspaceOf(chatId), 'inbox', name);
}

function workspaceOf(chatId: number): string {
  return workspacePath(path.join(harness.dataDir, 'workspaces'), {
    tenant: 'default',
    channel: 'telegram',
    chatId: String(chatId),
  });
}

function privateChat() {
  const chat = testChat(harness, nextChat++);
  return {
    ...chat,
    /** Model requests of this chat's turns (their text names the chat). */
    requests: () =>
      harness.model.messageRequests.filter((request) =>
        JSON.stringify(request.body.messages).includes(`chat ${chat.chatId}`),
      ),
  };
}

/** User content blocks of the request's first user message (the turn's prompt). */
function promptBlocks(request: RecordedRequest): Array<Record<string, unknown>> {
  const messages = request.body.messages ?? [];
  const user = [...messages].reverse().find((message) => {
    if (message.role !== 'user' || typeof message.content === 'string') return false;
    return message.content.some((block) => block.type === 'image');
  });
  return user && typeof user.content !== 'string' ? user.content : [];
}

describe('files a person sends (local server)', () => {
  it('saves a document in the inbox, tells the agent about it, and the agent reads it', async () => {
    const chat = privateChat();
    harness.api.addFile('doc-1', 'The secret number is 4711.', { filePath: 'documents/file_1' });
    harness.api.pushUpdate(
      documentUpdate({
        chatId: chat.chatId,
        from: ALLOWED_USER,
        caption: `chat ${chat.chatId}: what is in it?`,
        file: { fileId: 'doc-1', fileName: 'report.txt', mimeType: 'text/plain', size: 26 },
      }),
    );
    await chat.waitForReplies(1);
    expect(chat.replies()).toEqual(['It says: 4711']);

    const [first, second] = chat.requests();
    // The caption is the message; the file is named with its path, type and size.
    expect(lastUserText(first as RecordedRequest)).toContain(
      `chat ${chat.chatId}: what is in it?\n\n[Files the person sent, saved in your working directory:]\n- inbox/report.txt (file, text/plain, 26 bytes)`,
    );
    // The scripted Read of that path returned the file's content to the model.
    expect(toolResults(second as RecordedRequest).at(-1)?.text).toContain(
      'The secret number is 4711.',
    );
    expect(readdirSync(path.join(workspaceOf(chat.chatId), 'inbox'))).toEqual(['report.txt']);
    // The status message (or the draft that shows progress) said what was downloading.
    const shown = harness.api.calls
      .filter((call) => Number(call.params.chat_id) === chat.chatId)
      .map((call) => JSON.stringify(call.params));
    expect(shown.some((params) => params.includes('Downloading report.txt'))).toBe(true);
  });

  it('gives a photo to the model as an image, with its caption as the text', async () => {
    const chat = privateChat();
    harness.api.addFile('photo-1', JPEG, { filePath: 'photos/file_2.jpg' });
    harness.api.pushUpdate(
      photoUpdate({
        chatId: chat.chatId,
        from: ALLOWED_USER,
        caption: `chat ${chat.chatId}: what is this?`,
        file: { fileId: 'photo-1', fileUniqueId: 'AQADphoto1', size: JPEG.length },
      }),
    );
    await chat.waitForReplies(1);
    const [request] = chat.requests();
    const blocks = promptBlocks(request as RecordedRequest);
    expect(blocks.find((block) => block.type === 'image')).toEqual({
      type: 'image',
      source: { type: 'base64', media_type: 'image/jpeg', data: JPEG.toString('base64') },
    });
    expect(lastUserText(request as RecordedRequest)).toContain(
      'inbox/photo-AQADphoto1.jpg (photo, image/jpeg',
    );
    expect(chat.replies()).toEqual([`echo: chat ${chat.chatId}: what is this?`]);
    expect(existsSync(path.join(workspaceOf(chat.chatId), 'inbox', 'photo-AQADphoto1.jpg'))).toBe(
      true,
    );
  });

  it('makes an album of two photos one turn', async () => {
    const chat = privateChat();
    harness.api.addFile('album-a', JPEG, { filePath: 'photos/a.jpg' });
    harness.api.addFile('album-b', Buffer.concat([JPEG, Buffer.from([0])]), {
      filePath: 'photos/b.jpg',
    });
    const album = { chatId: chat.chatId, from: ALLOWED_USER, mediaGroupId: `g${chat.chatId}` };
    harness.api.pushUpdate(
      photoUpdate({
        ...album,
        caption: `chat ${chat.chatId}: compare these`,
        file: { fileId: 'album-a', fileUniqueId: 'ua' },
      }),
    );
    // The second arrives a moment later, as Telegram sends an album.
    await new Promise((resolve) => setTimeout(resolve, 300));
    harness.api.pushUpdate(
      photoUpdate({ ...album, file: { fileId: 'album-b', fileUniqueId: 'ub' } }),
    );
    await chat.waitForReplies(1);
    await eventually(
      () => harness.app?.pool.busy === 0 && harness.app.queue.counts().pending === 0,
      'the pool to settle',
      20_000,
    );
    expect(chat.replies()).toHaveLength(1);
    const requests = chat.requests();
    expect(requests).toHaveLength(1);
    expect(
      promptBlocks(requests[0] as RecordedRequest).filter((b) => b.type === 'image'),
    ).toHaveLength(2);
  });

  it("gives a voice message's transcript to the model as the message", async () => {
    const chat = privateChat();
    transcription.transcript = () => `chat ${chat.chatId} please remind me to buy milk`;
    harness.api.addFile('voice-1', 'OggS not really opus', { filePath: 'voice/file_3.oga' });
    harness.api.pushUpdate(
      voiceUpdate({ chatId: chat.chatId, from: ALLOWED_USER, file: { fileId: 'voice-1' } }),
    );
    await chat.waitForReplies(1);
    const [request] = chat.requests();
    expect(lastUserText(request as RecordedRequest)).toBe(
      `[voice message, transcribed] chat ${chat.chatId} please remind me to buy milk`,
    );
    const sent = transcription.requests.at(-1);
    expect(sent).toMatchObject({
      authorization: `Bearer ${transcription.apiKey}`,
      model: 'whisper-test',
      fileType: 'audio/ogg',
      content: Buffer.from('OggS not really opus'),
    });
    expect(sent?.fileName).toMatch(/\.ogg$/);
  });

  it('gives a reply the replied-to text as context', async () => {
    const chat = privateChat();
    const update = textMessageUpdate({
      chatId: chat.chatId,
      from: ALLOWED_USER,
      text: `chat ${chat.chatId}: and when is that?`,
    });
    (update.message as Record<string, unknown>).reply_to_message = {
      message_id: 77,
      date: 0,
      chat: { id: chat.chatId, type: 'private' },
      from: { id: 555, is_bot: false, first_name: 'Bob' },
      text: 'The meeting moved to Tuesday.',
    };
    harness.api.pushUpdate(update);
    await chat.waitForReplies(1);
    const [request] = chat.requests();
    expect(lastUserText(request as RecordedRequest)).toBe(
      `[In reply to Bob's message:]\n> The meeting moved to Tuesday.\nchat ${chat.chatId}: and when is that?`,
    );
  });

  it('refuses a file over the download limit with a clear answer, keeping nothing', async () => {
    const chat = privateChat();
    const big = Buffer.alloc(1024 * 1024 + 1, 7);
    // Telegram named its size: refused before a byte is fetched.
    harness.api.addFile('big-1', big, { filePath: 'documents/big1' });
    harness.api.pushUpdate(
      documentUpdate({
        chatId: chat.chatId,
        from: ALLOWED_USER,
        caption: `chat ${chat.chatId}: read this`,
        file: { fileId: 'big-1', fileName: 'huge.bin', size: big.length },
      }),
    );
    await chat.waitForReplies(1);
    expect(chat.replies()).toEqual([texts.media.tooLarge('huge.bin', big.length, 1024 * 1024)]);
    expect(harness.api.downloads).not.toContain('documents/big1');

    // Telegram did not say: found out while downloading, and nothing half-saved.
    harness.api.addFile('big-2', big, { filePath: 'documents/big2', reportedSize: null });
    harness.api.pushUpdate(
      documentUpdate({
        chatId: chat.chatId,
        from: ALLOWED_USER,
        caption: `chat ${chat.chatId}: and this`,
        file: { fileId: 'big-2', fileName: 'huge2.bin' },
      }),
    );
    await chat.waitForReplies(2);
    expect(chat.replies()[1]).toBe(texts.media.tooLarge('huge2.bin', big.length, 1024 * 1024));
    expect(chat.requests()).toHaveLength(0);
    expect(existsSync(path.join(workspaceOf(chat.chatId), 'inbox'))).toBe(false);
    const leftovers = readdirSync(path.join(harness.dataDir, 'tmp')).filter((name) =>
      name.startsWith('agent-media-'),
    );
    expect(leftovers).toEqual([]);
  });
});
