/**
 * Helpers for the subset of HTML that Telegram's `parse_mode: 'HTML'` accepts.
 *
 * Telegram measures a message by its text after the markup is parsed, in UTF-16
 * code units (what JavaScript's `string.length` counts), so everything here that
 * measures text measures what the reader sees, never the tags.
 */

/** Escape text for a Telegram HTML message body. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escape text for a double-quoted attribute value. */
export function escapeAttribute(text: string): string {
  return escapeHtml(text).replace(/"/g, '&quot;');
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
};

/** Decode one character reference (`&amp;`, `&#39;`, `&#x1F600;`); null if it is not one. */
export function decodeEntity(entity: string): string | null {
  const match = /^&(#x[0-9a-f]+|#[0-9]+|[a-z]+);$/i.exec(entity);
  if (!match?.[1]) return null;
  const body = match[1];
  if (body.startsWith('#')) {
    const code =
      body[1] === 'x' || body[1] === 'X'
        ? Number.parseInt(body.slice(2), 16)
        : Number.parseInt(body.slice(1), 10);
    if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff) return null;
    return String.fromCodePoint(code);
  }
  return NAMED_ENTITIES[body.toLowerCase()] ?? null;
}

/** Replace the character references Telegram understands by the characters they stand for. */
export function decodeEntities(text: string): string {
  return text.replace(
    /&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi,
    (entity) => decodeEntity(entity) ?? entity,
  );
}

/** One piece of a Telegram HTML string: a tag, or a single visible character. */
export type HtmlAtom =
  | { kind: 'open'; name: string; raw: string }
  | { kind: 'close'; name: string; raw: string }
  /** One code point (or one character reference), `length` in UTF-16 units. */
  | { kind: 'char'; raw: string; char: string; length: number };

const TAG = /^<(\/?)([a-z][a-z0-9-]*)((?:\s[^<>]*)?)>/i;
const ENTITY = /^&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/i;

/**
 * Break Telegram HTML into tags and visible characters. A `<` or `&` that does
 * not start a well-formed tag or reference is taken as a literal character, the
 * way a lenient reader would; our own renderer never produces one.
 */
export function tokenizeHtml(html: string): HtmlAtom[] {
  const atoms: HtmlAtom[] = [];
  let index = 0;
  while (index < html.length) {
    const rest = html.slice(index, index + 512);
    if (html[index] === '<') {
      const tag = TAG.exec(rest);
      if (tag?.[2]) {
        const name = tag[2].toLowerCase();
        atoms.push(
          tag[1] === '/'
            ? { kind: 'close', name, raw: tag[0] }
            : { kind: 'open', name, raw: tag[0] },
        );
        index += tag[0].length;
        continue;
      }
    } else if (html[index] === '&') {
      const entity = ENTITY.exec(rest);
      const decoded = entity ? decodeEntity(entity[0]) : null;
      if (entity && decoded !== null) {
        atoms.push({ kind: 'char', raw: entity[0], char: decoded, length: decoded.length });
        index += entity[0].length;
        continue;
      }
    }
    const codePoint = html.codePointAt(index) ?? 0;
    const char = String.fromCodePoint(codePoint);
    atoms.push({ kind: 'char', raw: char, char, length: char.length });
    index += char.length;
  }
  return atoms;
}

/** What the reader sees: tags removed, references decoded. */
export function htmlToPlainText(html: string): string {
  let text = '';
  for (const atom of tokenizeHtml(html)) if (atom.kind === 'char') text += atom.char;
  return text;
}
