import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEXTS } from '../../src/core/pipeline/conversation-worker.js';
import { textMessageUpdate } from '../support/fake-bot-api.js';
import { photoUpdate, TINY_JPEG } from '../support/media-updates.js';
import { lastUserText, type RecordedRequest, reply } from '../support/scripted-model-server.js';
import { ALLOWED_USER, TelegramHarness } from '../support/telegram-harness.js';

// Albums in groups, end to end on the local server: only an album's captioned
// photo mentions the bot, and the album's other photos (separate updates,
// before or after it) still make one turn with it.

let harness: TelegramHarness;
let nextChat = -7100;

beforeAll(async () => {
  harness = await TelegramHarness.create();
  harness.respond = (request) => reply.text(`echo: ${lastUserText(request).split('\n')[0]}`);
  await harness.startApp();
});

afterAll(async () => {
  await harness.close();
});

function groupChat() {
  const chatId = nextChat--;
  const replies = () =>
    harness.api
      .sentMessages(chatId)
      .map((message) => message.text)
      .filter((text) => !text.startsWith(DEFAULT_TEXTS.working));
  return {
    chatId,
    replies,
    waitForReplies: (count: number) =>
      harness.api.waitFor(() => replies().length >= count, 30_000, `${count} replies`),
    requests: () =>
      harness.model.messageRequests.filter((request) =>
        JSON.stringify(request.body.messages).includes(`chat ${chatId}`),
      ),
  };
}

async function settled(): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(harness.app?.pool.busy === 0 && harness.app.queue.counts().pending === 0)) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the pool to settle');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Image blocks of the turn's prompt. */
function images(request: RecordedRequest | undefined): number {
  const user = [...(request?.body.messages ?? [])].reverse().find((message) => {
    if (message.role !== 'user' || typeof message.content === 'string') return false;
    return message.content.some((block) => block.type === 'image');
  });
  if (!user || typeof user.content === 'string') return 0;
  return user.content.filter((block) => block.type === 'image').length;
}

/** Three photos of one album, the caption (mentioning the bot) on item `captioned`. */
function album(chatId: number, captioned: number, caption: string) {
  return [0, 1, 2].map((index) => {
    const fileId = `album-${chatId}-${index}`;
    // Each a different file (Claude Code reads an image's header: a real JPEG, padded).
    harness.api.addFile(fileId, Buffer.concat([TINY_JPEG, Buffer.alloc(index)]), {
      filePath: `photos/${fileId}.jpg`,
    });
    return photoUpdate({
      chatId,
      from: ALLOWED_USER,
      mediaGroupId: `g${chatId}`,
      messageId: 500 + index,
      file: { fileId, fileUniqueId: `u${fileId}` },
      ...(index === captioned ? { caption } : {}),
    });
  });
}

async function pushAlbum(updates: Array<Record<string, unknown>>): Promise<void> {
  for (const update of updates) {
    harness.api.pushUpdate(update);
    // The items of an album arrive as separate updates, a moment apart.
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

describe('albums in groups (local server)', () => {
  it('makes a 3-photo album captioned on its first item one turn with three images', async () => {
    const chat = groupChat();
    const caption = `@${harness.api.botUsername} chat ${chat.chatId}: compare these`;
    await pushAlbum(album(chat.chatId, 0, caption));
    await chat.waitForReplies(1);
    await settled();
    expect(chat.replies()).toEqual([`echo: Ada: chat ${chat.chatId}: compare these`]);
    const requests = chat.requests();
    expect(requests).toHaveLength(1);
    expect(images(requests[0])).toBe(3);
  });

  it('takes the items that came before the captioned one too', async () => {
    const chat = groupChat();
    const caption = `@${harness.api.botUsername} chat ${chat.chatId}: which is sharper?`;
    await pushAlbum(album(chat.chatId, 1, caption));
    await chat.waitForReplies(1);
    await settled();
    const requests = chat.requests();
    expect(requests).toHaveLength(1);
    expect(images(requests[0])).toBe(3);
  });

  it('leaves an album that does not address the bot alone', async () => {
    const chat = groupChat();
    await pushAlbum(album(chat.chatId, 0, `chat ${chat.chatId}: holiday pictures`));
    // A later message that does address the bot: its turn is the chat's only one.
    harness.api.pushUpdate(
      textMessageUpdate({
        chatId: chat.chatId,
        from: ALLOWED_USER,
        chatType: 'supergroup',
        text: `@${harness.api.botUsername} chat ${chat.chatId}: hello`,
      }),
    );
    await chat.waitForReplies(1);
    const requests = chat.requests();
    expect(requests).toHaveLength(1);
    expect(images(requests[0])).toBe(0);
    expect(chat.replies()).toEqual([`echo: Ada: chat ${chat.chatId}: hello`]);
  });
});
