/**
 * Cuts Markdown into pieces that each fit one Telegram rich message, on block
 * boundaries: blank lines outside code fences. A rich message renders its
 * Markdown whole (headings, tables, code blocks), so a cut inside a block
 * would break it in two halves that each render wrong; between blocks nothing
 * is lost. Only a single block longer than a message is cut inside: a code
 * block at a line boundary, closed and opened again with the same fence so
 * both halves stay code; any other block at a line break, else at a space.
 */

/** Telegram's rich-message limit: 32,768 characters of text. */
export const RICH_MESSAGE_LIMIT = 32_768;

/**
 * Source characters per piece. Markup makes the source longer than the text
 * Telegram counts, never shorter, so the source length bounds the text; the
 * margin absorbs what Telegram may count that we do not (expanded entities).
 */
const DEFAULT_RICH_PART_LIMIT = RICH_MESSAGE_LIMIT - 768;

/**
 * Blocks per piece. Telegram allows 500 (list items, table rows and quotes
 * count); we count lines, which is at least as many as blocks, with room left.
 */
const DEFAULT_RICH_BLOCK_LIMIT = 450;

export interface RichSplitLimits {
  chars?: number | undefined;
  /** Most non-empty lines (outside code blocks) in one piece. */
  lines?: number | undefined;
}

interface Block {
  text: string;
  /** The opening fence (```` ``` ````, `~~~`, with its info string) if the block is a code block. */
  fence: string | undefined;
  /** Lines that count against the block limit (a code block counts as one). */
  weight: number;
}

/** Splits `markdown` into pieces of at most `limits.chars` characters each, cut between blocks. */
export function splitRichMarkdown(markdown: string, limits: RichSplitLimits = {}): string[] {
  const chars = Math.max(64, limits.chars ?? DEFAULT_RICH_PART_LIMIT);
  const lines = Math.max(1, limits.lines ?? DEFAULT_RICH_BLOCK_LIMIT);
  const pieces: string[] = [];
  let current = '';
  let weight = 0;
  const flush = () => {
    if (current.trim()) pieces.push(current);
    current = '';
    weight = 0;
  };
  for (const block of blocksOf(markdown)) {
    for (const chunk of fitBlock(block, chars)) {
      const joined = current ? `${current}\n\n${chunk.text}` : chunk.text;
      if (current && (joined.length > chars || weight + chunk.weight > lines)) {
        flush();
        current = chunk.text;
      } else {
        current = joined;
      }
      weight += chunk.weight;
    }
  }
  flush();
  return pieces;
}

/** The text's blocks: runs of lines separated by blank lines, a code block (blank lines and all) being one. */
function blocksOf(markdown: string): Block[] {
  const blocks: Block[] = [];
  let lines: string[] = [];
  let fence: string | undefined;
  let blockFence: string | undefined;
  const end = () => {
    if (lines.length > 0) {
      blocks.push({
        text: lines.join('\n'),
        fence: blockFence,
        weight: blockFence ? 1 : lines.filter((line) => line.trim()).length,
      });
    }
    lines = [];
    blockFence = undefined;
  };
  for (const line of markdown.replace(/\r\n?/g, '\n').split('\n')) {
    if (fence) {
      lines.push(line);
      if (closesFence(line, fence)) {
        fence = undefined;
        end();
      }
      continue;
    }
    const opening = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (opening) {
      // A code block is a block of its own, whatever touches it.
      end();
      fence = opening[1] as string;
      blockFence = line.trim();
      lines.push(line);
      continue;
    }
    if (line.trim() === '') end();
    else lines.push(line);
  }
  // An unclosed fence runs to the end, as Markdown renders it.
  end();
  return blocks;
}

function closesFence(line: string, fence: string): boolean {
  const trimmed = line.trim();
  const char = fence[0] as string;
  return (
    trimmed.length >= fence.length &&
    [...trimmed].every((c) => c === char) &&
    /^ {0,3}\S/.test(line)
  );
}

/** A block as one chunk, or cut into chunks of at most `limit` characters if it is longer. */
function fitBlock(block: Block, limit: number): Block[] {
  if (block.text.length <= limit) return [block];
  if (block.fence) return cutCode(block, limit);
  return cutText(block.text, limit).map((text) => ({
    text,
    fence: undefined,
    weight: text.split('\n').filter((line) => line.trim()).length,
  }));
}

/** A long code block, cut at line boundaries, each piece its own fenced block. */
function cutCode(block: Block, limit: number): Block[] {
  const fence = block.fence as string;
  const marker = /^(`{3,}|~{3,})/.exec(fence)?.[1] ?? '```';
  const lines = block.text.split('\n');
  const closed = lines.length > 1 && closesFence(lines.at(-1) as string, marker);
  const body = lines.slice(1, closed ? -1 : undefined).join('\n');
  // Room for the fences around each piece.
  const room = Math.max(16, limit - fence.length - marker.length - 2);
  return cutText(body, room, true).map((piece) => ({
    text: `${fence}\n${piece}\n${marker}`,
    fence,
    weight: 1,
  }));
}

/**
 * Text cut into pieces of at most `limit` characters: at the last line break
 * that leaves a piece at least half full, else at the last space, else hard
 * (never inside a surrogate pair). Code keeps its whitespace exactly.
 */
function cutText(text: string, limit: number, code = false): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf('\n', limit);
    let skip = 1;
    if (cut < limit / 2 && !code) {
      const space = rest.lastIndexOf(' ', limit);
      if (space > cut) cut = space;
    }
    if (cut < limit / 2) {
      cut = limit;
      skip = 0;
      if (/[\ud800-\udbff]/.test(rest.charAt(cut - 1))) cut -= 1;
    }
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut + skip);
  }
  if (rest.length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces;
}
