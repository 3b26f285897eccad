import { describe, expect, it } from 'vitest';
import { parseTelegramHtml } from '../../../test/support/fake-bot-api.js';
import { formatReply } from './format-reply.js';
import { splitTelegramHtml } from './split-telegram-html.js';

const visible = (html: string) => parseTelegramHtml(html);

describe('splitTelegramHtml', () => {
  it('leaves a message that fits alone', () => {
    expect(splitTelegramHtml('<b>short</b> message', 100)).toEqual(['<b>short</b> message']);
  });

  it('prefers paragraph breaks, then line breaks, then spaces', () => {
    const paragraphs = ['a'.repeat(30), 'b'.repeat(30), 'c'.repeat(30)].join('\n\n');
    expect(splitTelegramHtml(paragraphs, 70)).toEqual([
      `${'a'.repeat(30)}\n\n${'b'.repeat(30)}`,
      'c'.repeat(30),
    ]);
    const words = 'word '.repeat(20).trim();
    const pieces = splitTelegramHtml(words, 23);
    for (const piece of pieces) expect(piece).toMatch(/^(word ?)+$/);
    expect(pieces.join('').replace(/ /g, '')).toBe('word'.repeat(20));
  });

  it('closes and reopens elements across a cut, attributes included', () => {
    const html = `<b>${'x'.repeat(20)} <a href="https://e.com/?a&amp;b">${'y'.repeat(20)}</a></b>`;
    const pieces = splitTelegramHtml(html, 30);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) expect(() => visible(piece)).not.toThrow();
    expect(pieces[1]).toMatch(/^<b><a href="https:\/\/e\.com\/\?a&amp;b">/);
    expect(pieces.map(visible).join('')).toBe(`${'x'.repeat(20)} ${'y'.repeat(20)}`);
  });

  it('splits a long code block into code blocks with the same language, at line ends', () => {
    const lines = Array.from({ length: 40 }, (_, index) => `line ${index} = value;`);
    const html = `<pre><code class="language-js">${lines.join('\n')}</code></pre>`;
    const pieces = splitTelegramHtml(html, 200);
    expect(pieces.length).toBeGreaterThan(3);
    for (const piece of pieces) {
      expect(piece).toMatch(/^<pre><code class="language-js">line \d+ = value;/);
      expect(piece).toMatch(/value;<\/code><\/pre>$/);
      expect(visible(piece).length).toBeLessThanOrEqual(200);
    }
    expect(pieces.map(visible).join('\n')).toBe(lines.join('\n'));
  });

  it('counts UTF-16 units and never cuts a surrogate pair or a character reference', () => {
    const emoji = '😀'.repeat(30); // 60 UTF-16 units, no spaces
    const pieces = splitTelegramHtml(`${emoji}&amp;`, 21);
    for (const piece of pieces) {
      expect(visible(piece).length).toBeLessThanOrEqual(21);
      expect(visible(piece)).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
    expect(pieces.map(visible).join('')).toBe(`${emoji}&`);
  });
});

describe('formatReply', () => {
  it('splits a 10,000-character reply into at least three valid messages within the limit', () => {
    const sections: string[] = [];
    for (let index = 0; sections.join('\n\n').length < 10_000; index++) {
      sections.push(
        `## Part ${index}\n\nSome **bold** text and \`code\` with _emphasis_ number ${index}.`,
      );
      sections.push(
        `\`\`\`ts\n${Array.from({ length: 8 }, (_, line) => `const v${line} = ${index} * ${line};`).join('\n')}\n\`\`\``,
      );
    }
    const markdown = sections.join('\n\n');
    const parts = formatReply(markdown);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) {
      const text = visible(part.html);
      expect(text.length).toBeLessThanOrEqual(4096);
      expect(part.text).toBe(text);
      // Every opened code block is closed in the same message.
      expect(part.html.split('<pre>').length).toBe(part.html.split('</pre>').length);
    }
    const allText = parts.map((part) => part.text).join('\n');
    expect(allText).toContain('const v7 = 0 * 7;');
    expect(allText).toContain(`number ${sections.length / 2 - 1}.`);
  });

  it('returns nothing for an empty reply', () => {
    expect(formatReply('  \n ')).toEqual([]);
  });
});
