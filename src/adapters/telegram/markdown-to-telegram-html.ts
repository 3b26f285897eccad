import { Lexer, type Token, type Tokens } from 'marked';
import { decodeEntities, escapeAttribute, escapeHtml } from './telegram-html.js';

/**
 * Render the agent's Markdown (CommonMark + GFM) as the HTML subset Telegram
 * accepts: b, i, s, u, code, pre, a, blockquote. Anything Telegram has no
 * element for is rewritten into text it can show: headings become bold lines,
 * lists get bullet characters, tables become monospaced blocks. Raw HTML in the
 * Markdown is shown as text, never passed through, so the agent cannot produce
 * markup Telegram would reject.
 */
export function markdownToTelegramHtml(markdown: string): string {
  const tokens = Lexer.lex(markdown.replace(/\r\n?/g, '\n'), { gfm: true });
  return renderBlocks(tokens, { quoteDepth: 0, listDepth: 0 }).trim();
}

interface BlockContext {
  /** Telegram cannot nest blockquotes; only the outermost one is marked up. */
  quoteDepth: number;
  listDepth: number;
}

function renderBlocks(tokens: Token[], context: BlockContext): string {
  const parts: string[] = [];
  for (const token of tokens) {
    const rendered = renderBlock(token, context);
    if (rendered !== '') parts.push(rendered);
  }
  return parts.join('\n\n');
}

function renderBlock(token: Token, context: BlockContext): string {
  switch (token.type) {
    case 'space':
    case 'def':
      return '';
    case 'heading': {
      const heading = token as Tokens.Heading;
      return `<b>${renderInline(heading.tokens)}</b>`;
    }
    case 'paragraph':
      return renderInline((token as Tokens.Paragraph).tokens);
    case 'text': {
      const text = token as Tokens.Text;
      return text.tokens ? renderInline(text.tokens) : escapeHtml(decodeEntities(text.text));
    }
    case 'code':
      return renderCodeBlock(token as Tokens.Code, context);
    case 'blockquote': {
      const inner = renderBlocks((token as Tokens.Blockquote).tokens, {
        ...context,
        quoteDepth: context.quoteDepth + 1,
      });
      return context.quoteDepth === 0 ? `<blockquote>${inner}</blockquote>` : inner;
    }
    case 'list':
      return renderList(token as Tokens.List, context);
    case 'table':
      return renderTable(token as Tokens.Table);
    case 'hr':
      return '──────────';
    case 'html':
      return escapeHtml((token as Tokens.HTML).text.trim());
    default: {
      const generic = token as Tokens.Generic;
      if (generic.tokens) return renderInline(generic.tokens);
      return typeof generic.text === 'string' ? escapeHtml(generic.text) : '';
    }
  }
}

function renderCodeBlock(code: Tokens.Code, context: BlockContext): string {
  const text = escapeHtml(code.text.replace(/\n+$/, ''));
  // Telegram allows no other entity around a pre block inside a quote; show
  // the code as monospaced text instead, which it does allow there.
  if (context.quoteDepth > 0) return `<code>${text}</code>`;
  const language =
    (code.lang ?? '')
      .trim()
      .split(/\s+/)[0]
      ?.replace(/[^\w+#.-]/g, '') ?? '';
  return language
    ? `<pre><code class="language-${language}">${text}</code></pre>`
    : `<pre>${text}</pre>`;
}

function renderList(list: Tokens.List, context: BlockContext): string {
  const indent = '  '.repeat(context.listDepth);
  const start = typeof list.start === 'number' ? list.start : 1;
  const lines = list.items.map((item, index) => {
    const marker = list.ordered ? `${start + index}.` : context.listDepth % 2 === 0 ? '•' : '◦';
    const checkbox = item.task ? (item.checked ? '☑ ' : '☐ ') : '';
    const body = renderListItem(item, { ...context, listDepth: context.listDepth + 1 });
    return `${indent}${marker} ${checkbox}${body}`;
  });
  return lines.join(list.loose ? '\n\n' : '\n');
}

function renderListItem(item: Tokens.ListItem, context: BlockContext): string {
  const parts: string[] = [];
  for (const child of item.tokens) {
    if (child.type === 'checkbox') continue;
    if (child.type === 'list') {
      parts.push(`\n${renderList(child as Tokens.List, context)}`);
      continue;
    }
    const rendered = renderBlock(child, context);
    if (rendered === '') continue;
    parts.push(parts.length > 0 ? `\n${rendered}` : rendered);
  }
  return parts.join('');
}

/** Tables become aligned monospaced text: Telegram has no table element. */
function renderTable(table: Tokens.Table): string {
  const rows = [table.header, ...table.rows].map((row) =>
    row.map((cell) => inlinePlainText(cell.tokens)),
  );
  const widths = table.header.map((_, column) =>
    Math.max(...rows.map((row) => [...(row[column] ?? '')].length)),
  );
  const format = (row: string[]) =>
    row
      .map((cell, column) => {
        const pad = ' '.repeat(Math.max(0, (widths[column] ?? 0) - [...cell].length));
        return table.align[column] === 'right' ? pad + cell : cell + pad;
      })
      .join(' | ')
      .trimEnd();
  const [header, ...body] = rows;
  const separator = widths.map((width) => '-'.repeat(Math.max(1, width))).join('-+-');
  const lines = [format(header ?? []), separator, ...body.map(format)];
  return `<pre>${escapeHtml(lines.join('\n'))}</pre>`;
}

function renderInline(tokens: Token[]): string {
  let html = '';
  for (const token of tokens) html += renderInlineToken(token);
  return html;
}

function renderInlineToken(token: Token): string {
  switch (token.type) {
    case 'text': {
      const text = token as Tokens.Text;
      return text.tokens ? renderInline(text.tokens) : escapeHtml(decodeEntities(text.text));
    }
    case 'escape':
      return escapeHtml((token as Tokens.Escape).text);
    case 'strong':
      return wrap('b', renderInline((token as Tokens.Strong).tokens));
    case 'em':
      return wrap('i', renderInline((token as Tokens.Em).tokens));
    case 'del':
      return wrap('s', renderInline((token as Tokens.Del).tokens));
    case 'codespan':
      return wrap('code', escapeHtml((token as Tokens.Codespan).text));
    case 'br':
      return '\n';
    case 'link': {
      const link = token as Tokens.Link;
      const inner = renderInline(link.tokens);
      return isSafeHref(link.href)
        ? `<a href="${escapeAttribute(link.href)}">${inner || escapeHtml(link.href)}</a>`
        : inner;
    }
    case 'image': {
      const image = token as Tokens.Image;
      const label = escapeHtml(image.text || image.href);
      return isSafeHref(image.href)
        ? `<a href="${escapeAttribute(image.href)}">${label}</a>`
        : label;
    }
    case 'html':
      return escapeHtml((token as Tokens.Tag).text);
    case 'checkbox':
      return '';
    default: {
      const generic = token as Tokens.Generic;
      if (generic.tokens) return renderInline(generic.tokens);
      return typeof generic.text === 'string' ? escapeHtml(generic.text) : '';
    }
  }
}

/** An element with nothing visible inside is dropped: Telegram rejects some empty entities. */
function wrap(tag: string, inner: string): string {
  return inner === '' ? '' : `<${tag}>${inner}</${tag}>`;
}

function inlinePlainText(tokens: Token[]): string {
  let text = '';
  for (const token of tokens) {
    const generic = token as Tokens.Generic;
    if (generic.tokens && token.type !== 'text') text += inlinePlainText(generic.tokens);
    else if (token.type === 'text' && generic.tokens) text += inlinePlainText(generic.tokens);
    else if (token.type === 'br') text += ' ';
    else if (typeof generic.text === 'string') text += decodeEntities(generic.text);
  }
  return text;
}

function isSafeHref(href: string): boolean {
  return /^(https?:|mailto:|tg:)/i.test(href.trim());
}
