import { describe, expect, it } from 'vitest';
import { parseTelegramHtml } from '../../../test/support/fake-bot-api.js';
import { markdownToTelegramHtml } from './markdown-to-telegram-html.js';

describe('markdownToTelegramHtml', () => {
  it('maps inline Markdown to the tags Telegram knows', () => {
    const html = markdownToTelegramHtml(
      'Some **bold _and italic_**, ~~gone~~, `a<b` and [a link](https://example.com/?a=1&b=2).',
    );
    expect(html).toBe(
      'Some <b>bold <i>and italic</i></b>, <s>gone</s>, <code>a&lt;b</code> and ' +
        '<a href="https://example.com/?a=1&amp;b=2">a link</a>.',
    );
  });

  it('keeps a fenced code block with its language and escapes its content', () => {
    const html = markdownToTelegramHtml('```ts\nif (a < b && c > d) {}\n```');
    expect(html).toBe(
      '<pre><code class="language-ts">if (a &lt; b &amp;&amp; c &gt; d) {}</code></pre>',
    );
  });

  it('turns headings, lists, quotes, rules and tables into text Telegram can show', () => {
    const markdown = [
      '# Title',
      '',
      '- one',
      '- two',
      '  1. nested',
      '- [x] done',
      '',
      '> quoted',
      '> > twice',
      '',
      '---',
      '',
      '| name | qty |',
      '|------|----:|',
      '| tea  | 2 |',
    ].join('\n');
    const html = markdownToTelegramHtml(markdown);
    expect(html).toContain('<b>Title</b>');
    expect(html).toContain('• one\n• two\n  1. nested\n• ☑ done');
    // Telegram rejects nested blockquotes: the inner one is flattened.
    expect(html).toContain('<blockquote>quoted\n\ntwice</blockquote>');
    expect(html).toContain('<pre>name | qty\n-----+----\ntea  |   2</pre>');
    expect(() => parseTelegramHtml(html)).not.toThrow();
  });

  it('shows raw HTML and character references as text instead of passing markup through', () => {
    const html = markdownToTelegramHtml('Use <script>alert(1)</script> &lt;tag&gt; & AT&T');
    expect(parseTelegramHtml(html)).toBe('Use <script>alert(1)</script> <tag> & AT&T');
  });

  it('drops links with schemes Telegram would refuse, keeping their text', () => {
    expect(markdownToTelegramHtml('[click](javascript:alert(1))')).toBe('click');
  });

  it('produces HTML the Bot API accepts for a mixed document', () => {
    const markdown = [
      '## Plan *for* `today`',
      '',
      '1. **Read** the [docs](https://grammy.dev)',
      '2. Write code:',
      '',
      '   ```python',
      '   print("<hi>")',
      '   ```',
      '',
      '> Note: `quoted code` and',
      '> ```',
      '> block in quote',
      '> ```',
    ].join('\n');
    const html = markdownToTelegramHtml(markdown);
    expect(() => parseTelegramHtml(html)).not.toThrow();
    expect(parseTelegramHtml(html)).toContain('print("<hi>")');
  });
});
