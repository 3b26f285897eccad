import { describe, expect, it } from 'vitest';
import { command, testMessage } from '../../test/support/inbound-messages.js';
import {
  ALBUM_WAIT_MS,
  canCombine,
  holdBackMs,
  laneOf,
  parseInboundMessage,
  promptFor,
} from './inbound-message.js';

const photo = {
  kind: 'photo' as const,
  fileId: 'p',
  fileUniqueId: 'up',
  mimeType: 'image/jpeg',
};

describe('media messages', () => {
  it('go on the turn lane and combine with texts and each other, never with commands', () => {
    const media = testMessage({ body: { kind: 'media', text: '', attachments: [photo] } });
    const text = testMessage({ text: 'and this' });
    expect(laneOf(media)).toBe('turn');
    expect(canCombine(media, text)).toBe(true);
    expect(canCombine(text, media)).toBe(true);
    expect(canCombine(media, media)).toBe(true);
    expect(canCombine(media, testMessage({ body: command('new') }))).toBe(false);
  });

  it('are held back while their album gathers; others are not', () => {
    const albumItem = testMessage({ body: { kind: 'media', text: '', attachments: [photo] } });
    expect(holdBackMs(albumItem)).toBe(0);
    expect(holdBackMs({ ...albumItem, mediaGroupId: 'g1' })).toBe(ALBUM_WAIT_MS);
  });

  it('make a prompt of captions and replied-to texts, with who spoke in a group', () => {
    const caption = testMessage({
      chatType: 'group',
      senderName: 'Ada',
      body: { kind: 'media', text: 'what is this?', attachments: [photo] },
    });
    const silent = testMessage({ body: { kind: 'media', text: '', attachments: [photo] } });
    const reply = {
      ...testMessage({ chatType: 'group', senderName: 'Bob', text: 'why?' }),
      replyTo: { senderName: 'the assistant', text: 'It is a cat.\nA grey one.' },
    };
    expect(promptFor([caption, silent, reply])).toBe(
      [
        'Ada: what is this?',
        "Bob: [In reply to the assistant's message:]\n> It is a cat.\n> A grey one.\nwhy?",
      ].join('\n\n'),
    );
  });

  it('read back from the queue, and refuse what is not bounded', () => {
    const message = {
      ...testMessage({ body: { kind: 'media', text: 'x', attachments: [photo] } }),
      mediaGroupId: 'g',
      replyTo: { text: 'earlier', attachment: { ...photo, size: 10 } },
    };
    expect(parseInboundMessage(JSON.parse(JSON.stringify(message)))).toEqual(message);
    const tooMany = { ...message, body: { ...message.body, attachments: Array(11).fill(photo) } };
    expect(() => parseInboundMessage(tooMany)).toThrow();
    const noFiles = { ...message, body: { ...message.body, attachments: [] } };
    expect(() => parseInboundMessage(noFiles)).toThrow();
    // A payload written before media existed still reads.
    const old = testMessage({ text: 'plain' });
    expect(parseInboundMessage(JSON.parse(JSON.stringify(old)))).toEqual(old);
  });
});
