import { describe, expect, it } from 'vitest';
import { RICH_MESSAGE_LIMIT, splitRichMarkdown } from './split-rich-markdown.js';

describe('splitRichMarkdown', () => {
  it('keeps an answer that fits in one piece as it is', () => {
    const markdown =
      '# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```ts\nconst x = 1;\n\nconst y = 2;\n```';
    expect(splitRichMarkdown(markdown)).toEqual([markdown]);
  });

  it('cuts between blocks, never inside a table or a code block with blank lines', () => {
    const table = `| n | square |\n|---|---|\n${Array.from({ length: 20 }, (_, n) => `| ${n} | ${n * n} |`).join('\n')}`;
    const code = '```python\nx = 1\n\n\ny = 2\n```';
    const markdown = ['Intro paragraph.', table, code, 'Closing words.'].join('\n\n');
    const pieces = splitRichMarkdown(markdown, { chars: table.length + 20 });
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(table.length + 20);
    // Every block arrives whole in exactly one piece.
    expect(pieces.filter((piece) => piece.includes(table))).toHaveLength(1);
    expect(pieces.filter((piece) => piece.includes(code))).toHaveLength(1);
    expect(pieces.join('\n\n')).toBe(markdown);
  });

  it('splits an answer longer than a rich message into pieces within the limit', () => {
    const paragraph = `${'word '.repeat(199)}word`;
    const markdown = Array.from({ length: 40 }, () => paragraph).join('\n\n');
    expect(markdown.length).toBeGreaterThan(RICH_MESSAGE_LIMIT);
    const pieces = splitRichMarkdown(markdown);
    expect(pieces).toHaveLength(2);
    for (const piece of pieces) expect(piece.length).toBeLessThan(RICH_MESSAGE_LIMIT);
    expect(pieces.join('\n\n')).toBe(markdown);
  });

  it('cuts one huge code block at line boundaries, each piece fenced again', () => {
    const lines = Array.from({ length: 100 }, (_, n) => `line_${n} = ${n}`);
    const markdown = `\`\`\`python\n${lines.join('\n')}\n\`\`\``;
    const pieces = splitRichMarkdown(markdown, { chars: 400 });
    expect(pieces.length).toBeGreaterThan(2);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(400);
      expect(piece.startsWith('```python\n')).toBe(true);
      expect(piece.endsWith('\n```')).toBe(true);
    }
    const body = pieces.map((piece) => piece.slice('```python\n'.length, -'\n```'.length));
    expect(body.join('\n')).toBe(lines.join('\n'));
  });

  it('cuts one huge paragraph at spaces, and text without spaces hard', () => {
    const words = Array.from({ length: 300 }, (_, n) => `w${n}`).join(' ');
    const pieces = splitRichMarkdown(words, { chars: 200 });
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(200);
    expect(pieces.join(' ')).toBe(words);
    const solid = 'x'.repeat(1000);
    expect(splitRichMarkdown(solid, { chars: 300 }).join('')).toBe(solid);
  });

  it('starts a new piece before too many lines (Telegram counts blocks: list items, rows)', () => {
    const list = Array.from({ length: 30 }, (_, n) => `- item ${n}`);
    const markdown = list.map((item) => `${item}\n\nnote`).join('\n\n');
    const pieces = splitRichMarkdown(markdown, { lines: 10 });
    expect(pieces.length).toBeGreaterThanOrEqual(6);
    for (const piece of pieces) {
      expect(piece.split('\n').filter((line) => line.trim()).length).toBeLessThanOrEqual(10);
    }
  });

  it('treats an unclosed fence as code to the end, and drops nothing', () => {
    const markdown = 'Before.\n\n```\ncode\n\nmore code';
    expect(splitRichMarkdown(markdown)).toEqual([markdown]);
    expect(splitRichMarkdown('\n\n\n')).toEqual([]);
  });
});
