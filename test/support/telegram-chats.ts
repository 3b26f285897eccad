import { expect } from 'vitest';
import { DEFAULT_TEXTS } from '../../src/core/pipeline/conversation-worker.js';
import { type TestUser, textMessageUpdate } from './fake-bot-api.js';
import { ALLOWED_USER, type TelegramHarness } from './telegram-harness.js';

/** A chat of the local server's end-to-end tests, seen from the fake Bot API. */
export interface TestChat {
  chatId: number;
  /** A text message update from the chat's person. */
  update(text: string, updateId?: number): Record<string, unknown>;
  /** Sends a text message from the chat's person; its update_id. */
  say(text: string): number;
  /** The texts the bot sent to the chat. */
  replies(): string[];
  waitForReplies(count: number, what?: string): Promise<void>;
}

/**
 * A chat with `from` (default: an allowed user). Its replies are the answers
 * only, unless `keepStatus`: on a loaded machine a turn may outlast the status
 * message's delay, and its "Working on it…" is in the chat until the answer
 * replaces it.
 */
export function testChat(
  harness: TelegramHarness,
  chatId: number,
  { from = ALLOWED_USER, keepStatus = false }: { from?: TestUser; keepStatus?: boolean } = {},
): TestChat {
  const update = (text: string, updateId?: number) =>
    textMessageUpdate({ chatId, text, from, ...(updateId !== undefined ? { updateId } : {}) });
  const replies = () => {
    const texts = harness.api.sentMessages(chatId).map((message) => message.text);
    return keepStatus ? texts : texts.filter((text) => !text?.startsWith(DEFAULT_TEXTS.working));
  };
  return {
    chatId,
    update,
    say: (text) => harness.api.pushUpdate(update(text)),
    replies,
    waitForReplies: (count, what = `${count} replies`) =>
      harness.api.waitFor(() => replies().length >= count, 30_000, what),
  };
}

/**
 * After a stop was asked for: the chat shows "Stopped." and nothing else (no
 * "Nothing to stop"; waited for by its text, as a status message may come and
 * go meanwhile), and carries on: the next message is answered by the model
 * (the echo), the stopped request still in its history.
 */
export async function expectStoppedThenCarriesOn(
  harness: TelegramHarness,
  chat: TestChat,
): Promise<void> {
  await harness.api.waitFor(
    () => chat.replies().includes(DEFAULT_TEXTS.stopped),
    30_000,
    'the stop reply',
  );
  expect(chat.replies()).toEqual([DEFAULT_TEXTS.stopped]);
  chat.say('still there?');
  await chat.waitForReplies(2);
  expect(chat.replies()[1]).toMatch(/^echo: .*still there\?$/s);
}

/** ~11,000 characters of Markdown with headings, bold text and code blocks. */
export function longMarkdown(): string {
  const sections: string[] = [];
  for (let index = 0; sections.join('\n\n').length < 11_000; index++) {
    sections.push(
      `## Section ${index}\n\nThis is **important point ${index}**, with \`inline code\` and _emphasis_.`,
    );
    sections.push(
      `\`\`\`python\n${Array.from({ length: 10 }, (_, line) => `value_${line} = compute(${index}, ${line})  # step ${line}`).join('\n')}\n\`\`\``,
    );
  }
  return sections.join('\n\n');
}
