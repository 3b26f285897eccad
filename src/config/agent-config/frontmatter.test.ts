import { describe, expect, it } from 'vitest';
import { parseFrontmatter } from './frontmatter.js';

describe('parseFrontmatter', () => {
  it('reads flat key: value pairs and returns the body', () => {
    const result = parseFrontmatter('---\nname: hello\ndescription: Says hi.\n---\n# Body\n');

    expect(result).toEqual({
      ok: true,
      data: { name: 'hello', description: 'Says hi.' },
      body: '# Body\n',
    });
  });

  it('unquotes single- and double-quoted values', () => {
    const result = parseFrontmatter(`---\nname: 'it''s'\ndescription: "Use when: \\"hi\\""\n---\n`);

    expect(result).toMatchObject({
      ok: true,
      data: { name: "it's", description: 'Use when: "hi"' },
    });
  });

  it('reads values as YAML does: folded lines, block scalars, lists, comments', () => {
    const result = parseFrontmatter(
      [
        '---',
        'plain: first part',
        '  second part',
        'folded: >',
        '  one',
        '  two',
        'literal: |',
        '  line 1',
        '  line 2',
        '# a comment',
        'allowed-tools:',
        '- Read',
        '- Grep',
        '---',
        '',
      ].join('\r\n'),
    );

    expect(result).toMatchObject({
      ok: true,
      data: {
        plain: 'first part second part',
        // Block scalars keep their final line break ("clip" chomping).
        folded: 'one two\n',
        literal: 'line 1\nline 2\n',
        'allowed-tools': ['Read', 'Grep'],
      },
    });
  });

  it('rejects a file without an opening or closing fence', () => {
    expect(parseFrontmatter('name: x\n')).toEqual({
      ok: false,
      reason: 'expected the file to start with a "---" frontmatter block',
    });
    expect(parseFrontmatter('---\nname: x\n')).toEqual({
      ok: false,
      reason: 'the frontmatter block has no closing "---" line',
    });
  });

  it('rejects lines that are not key: value, and repeated keys', () => {
    expect(parseFrontmatter('---\njust text\n---\n')).toEqual({
      ok: false,
      reason: 'expected the frontmatter to be "key: value" lines, found the string "just text"',
    });
    expect(parseFrontmatter('---\n- a\n- b\n---\n')).toEqual({
      ok: false,
      reason: 'expected the frontmatter to be "key: value" lines, found a list',
    });
    expect(parseFrontmatter('---\nname: a\nname: b\n---\n')).toEqual({
      ok: false,
      reason: 'frontmatter line 3 is not valid YAML: Map keys must be unique',
    });
  });

  it('drops a trailing comment from a plain value', () => {
    const result = parseFrontmatter(
      '---\nname: foo # the skill name\ndescription: Says hi.\n---\n',
    );

    expect(result).toMatchObject({ ok: true, data: { name: 'foo', description: 'Says hi.' } });
  });

  it('rejects an unquoted value holding ": ", naming the line and the fix', () => {
    const result = parseFrontmatter(
      '---\nname: greeter\ndescription: Use when: the user says hi\n---\n',
    );

    expect(result).toEqual({
      ok: false,
      reason:
        'frontmatter line 3 is not valid YAML: Nested mappings are not allowed in compact mappings; put a value that contains ": " in quotes',
    });
  });

  it('reads an empty block as no keys, and reports other YAML errors by line', () => {
    expect(parseFrontmatter('---\n---\nBody')).toEqual({ ok: true, data: {}, body: 'Body' });
    expect(parseFrontmatter('---\nname: x\n\ttools: y\n---\n')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^frontmatter line 3 is not valid YAML: /),
    });
    expect(parseFrontmatter('---\nname: *missing\n---\n')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^the frontmatter is not valid YAML: /),
    });
  });
});
