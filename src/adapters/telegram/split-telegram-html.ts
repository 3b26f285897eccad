import { type HtmlAtom, tokenizeHtml } from './telegram-html.js';

/** Telegram's limit for a message's text, in UTF-16 code units after parsing. */
export const TELEGRAM_MESSAGE_LIMIT = 4096;

/**
 * Split Telegram HTML into messages whose visible text fits `limit` UTF-16
 * units each. Every piece is well-formed on its own: elements open at a cut are
 * closed at the end of one piece and opened again (same attributes, so a code
 * block keeps its language and a link its address) at the start of the next.
 *
 * Cuts prefer, in order: a blank line, a line break, a space; only a line with
 * no room for any of those is cut mid-word (never inside a character reference
 * or a surrogate pair). A preferred cut is taken only if it leaves the piece
 * reasonably full, so one early paragraph break does not waste half a message.
 */
export function splitTelegramHtml(html: string, limit: number = TELEGRAM_MESSAGE_LIMIT): string[] {
  if (limit < 16) throw new RangeError(`limit ${limit} is too small to split a message`);
  const atoms = tokenizeHtml(html);
  const pieces: string[] = [];
  /** Elements open where the current piece starts (outermost first). */
  let carried: HtmlAtom[] = [];
  let index = 0;

  while (index < atoms.length) {
    const piece = takePiece(atoms, index, carried, limit);
    const body = piece.atoms.map((atom) => atom.raw).join('');
    const text = body + closeAll(piece.openAtEnd);
    if (piece.visible > 0) pieces.push(carried.map((atom) => atom.raw).join('') + text);
    carried = piece.openAtEnd;
    index = piece.next;
    // A line break at the cut belongs to neither piece: the reopened element
    // (or the new message) already starts on a fresh line.
    while (index < atoms.length && isNewline(atoms[index])) index++;
  }
  return pieces.map(cleanEmptyElements).filter((piece) => piece !== '');
}

interface Piece {
  atoms: HtmlAtom[];
  /** Elements still open after the piece's last atom, outermost first. */
  openAtEnd: HtmlAtom[];
  visible: number;
  /** Index of the first atom of the next piece. */
  next: number;
}

interface Cut {
  /** Atoms [start, end) go into this piece. */
  end: number;
  visible: number;
  stack: HtmlAtom[];
}

function takePiece(atoms: HtmlAtom[], start: number, carried: HtmlAtom[], limit: number): Piece {
  const stack = [...carried];
  let visible = 0;
  let index = start;
  // Best cut seen so far for each preference: 3 blank line, 2 line break, 1 space, 0 anywhere.
  const cuts: (Cut | undefined)[] = [];

  while (index < atoms.length) {
    const atom = atoms[index] as HtmlAtom;
    if (atom.kind === 'char') {
      if (visible + atom.length > limit) break;
      visible += atom.length;
    } else if (atom.kind === 'open') {
      stack.push(atom);
    } else {
      popElement(stack, atom.name);
    }
    index++;
    if (atom.kind !== 'char') continue;

    // Closing tags right after a cut belong with the text they close.
    let end = index;
    const after = [...stack];
    while (end < atoms.length && atoms[end]?.kind === 'close') {
      popElement(after, (atoms[end] as HtmlAtom & { kind: 'close' }).name);
      end++;
    }
    const next = atoms[end];
    // Cut before a line break (it is dropped, see above), after a space.
    let preference = 0;
    if (isNewline(atom)) preference = 0;
    else if (isNewline(next)) preference = isNewline(atoms[end + 1]) ? 3 : 2;
    else if (atom.char === ' ') preference = 1;
    const cut: Cut = { end, visible, stack: after };
    for (let level = 0; level <= preference; level++) cuts[level] = cut;
  }

  if (index >= atoms.length) {
    return { atoms: atoms.slice(start), openAtEnd: stack, visible, next: atoms.length };
  }
  const cut = chooseCut(cuts, limit);
  if (!cut) {
    // Not even one character fits after the carried elements: cannot happen
    // with the minimum limit, but never loop forever.
    throw new RangeError('a single character does not fit the message limit');
  }
  return {
    atoms: atoms.slice(start, cut.end),
    openAtEnd: cut.stack,
    visible: cut.visible,
    next: cut.end,
  };
}

function chooseCut(cuts: (Cut | undefined)[], limit: number): Cut | undefined {
  const wanted = [
    { level: 3, fill: 0.5 },
    { level: 2, fill: 0.3 },
    { level: 1, fill: 0.3 },
  ];
  for (const { level, fill } of wanted) {
    const cut = cuts[level];
    if (cut && cut.visible >= limit * fill) return cut;
  }
  return cuts[0];
}

function popElement(stack: HtmlAtom[], name: string): void {
  for (let index = stack.length - 1; index >= 0; index--) {
    const atom = stack[index];
    if (atom && atom.kind !== 'char' && atom.name === name) {
      stack.splice(index, 1);
      return;
    }
  }
}

function closeAll(stack: HtmlAtom[]): string {
  return stack
    .map((atom) => `</${atom.kind === 'char' ? '' : atom.name}>`)
    .reverse()
    .join('');
}

function isNewline(atom: HtmlAtom | undefined): boolean {
  return atom?.kind === 'char' && atom.char === '\n';
}

/** Drop elements left empty by a cut (`<b></b>`), which Telegram would reject or ignore. */
function cleanEmptyElements(piece: string): string {
  let previous: string;
  let current = piece;
  do {
    previous = current;
    current = current.replace(/<([a-z][a-z0-9-]*)(?:\s[^<>]*)?>\s*<\/\1>/gi, '');
  } while (current !== previous);
  return current.trim() === '' ? '' : current;
}
