import { LineCounter, parseDocument } from 'yaml';
import { errorMessage } from '../../domain/errors.js';

/**
 * Reads the YAML frontmatter of a SKILL.md file. Claude Code reads the same
 * file with a real YAML parser, so this uses one too: a value means here what
 * it means there (`name: foo # note` is `foo`), and a file it would reject
 * (`description: Use when: ...`, a mapping inside a plain value) is rejected
 * here, as a configuration error, instead of being read some other way.
 */
export type Frontmatter =
  | { ok: true; data: Record<string, unknown>; body: string }
  | { ok: false; reason: string };

const FENCE = /^---[ \t]*$/;

export function parseFrontmatter(text: string): Frontmatter {
  const lines = text.split(/\r?\n/);
  if (!FENCE.test(lines[0] ?? '')) {
    return { ok: false, reason: 'expected the file to start with a "---" frontmatter block' };
  }
  const end = lines.findIndex((line, index) => index > 0 && FENCE.test(line));
  if (end === -1) return { ok: false, reason: 'the frontmatter block has no closing "---" line' };

  const lineCounter = new LineCounter();
  const document = parseDocument(lines.slice(1, end).join('\n'), {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const [error] = document.errors;
  if (error) {
    // The YAML starts on the file's second line, after the opening fence.
    const line = lineCounter.linePos(error.pos[0]).line + 1;
    // The usual cause: an unquoted value holding ": ", such as "Use when: ...".
    const hint =
      error.code === 'BLOCK_AS_IMPLICIT_KEY' ? '; put a value that contains ": " in quotes' : '';
    return {
      ok: false,
      reason: `frontmatter line ${line} is not valid YAML: ${error.message}${hint}`,
    };
  }

  let data: unknown;
  try {
    data = document.toJS();
  } catch (failure) {
    // toJS throws for what parsing lets through, such as an alias to no anchor.
    return {
      ok: false,
      reason: `the frontmatter is not valid YAML: ${errorMessage(failure)}`,
    };
  }
  // An empty block is an empty mapping: the missing fields are reported by name.
  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      reason: `expected the frontmatter to be "key: value" lines, found ${Array.isArray(data) ? 'a list' : `the ${typeof data} ${JSON.stringify(data)}`}`,
    };
  }
  return { ok: true, data: data as Record<string, unknown>, body: lines.slice(end + 1).join('\n') };
}
