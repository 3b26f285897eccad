/**
 * A deliberately small reader for the frontmatter of SKILL.md files. Skills use
 * flat `key: value` pairs; a YAML library would be a dependency for two fields.
 *
 * Understood: `key: value`, quoted values ('single' with '' escapes, "double"
 * with JSON escapes), values continued on indented lines (folded with spaces),
 * `|` and `>` block scalars, and `#` comment lines. Keys it does not need (such
 * as a list under `allowed-tools:`) are kept as their raw folded text.
 */
export type Frontmatter =
  | { ok: true; data: Record<string, string>; body: string }
  | { ok: false; reason: string };

const FENCE = /^---[ \t]*$/;
const KEY_LINE = /^([A-Za-z0-9_-]+)[ \t]*:(?:[ \t]+(.*))?$/;
const BLOCK_INDICATOR = /^([|>])[+-]?$/;

export function parseFrontmatter(text: string): Frontmatter {
  const lines = text.split(/\r?\n/);
  if (!FENCE.test(lines[0] ?? '')) {
    return { ok: false, reason: 'expected the file to start with a "---" frontmatter block' };
  }
  const end = lines.findIndex((line, index) => index > 0 && FENCE.test(line));
  if (end === -1) return { ok: false, reason: 'the frontmatter block has no closing "---" line' };

  const entries: { key: string; first: string; rest: string[] }[] = [];
  for (let index = 1; index < end; index++) {
    const line = lines[index] ?? '';
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const current = entries.at(-1);
    // Indented lines and list items belong to the key above them.
    if (current && (/^[ \t]/.test(line) || line.startsWith('- '))) {
      current.rest.push(line.trim());
      continue;
    }
    const match = KEY_LINE.exec(line);
    if (!match) {
      return { ok: false, reason: `frontmatter line ${index + 1} is not "key: value": ${line}` };
    }
    const key = match[1] as string;
    if (entries.some((entry) => entry.key === key)) {
      return { ok: false, reason: `frontmatter key "${key}" appears twice` };
    }
    entries.push({ key, first: (match[2] ?? '').trim(), rest: [] });
  }

  const data: Record<string, string> = {};
  for (const { key, first, rest } of entries) data[key] = entryValue(first, rest);
  return { ok: true, data, body: lines.slice(end + 1).join('\n') };
}

function entryValue(first: string, rest: string[]): string {
  const block = BLOCK_INDICATOR.exec(first);
  if (block) return rest.join(block[1] === '|' ? '\n' : ' ');
  const joined = [first, ...rest].filter((part) => part !== '').join(' ');
  return unquote(joined);
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
    return value.slice(1, -1).replaceAll("''", "'");
  }
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      return String(JSON.parse(value));
    } catch {
      return value.slice(1, -1);
    }
  }
  return value;
}
