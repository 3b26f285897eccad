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

  it('folds continued lines and understands block scalars', () => {
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
        folded: 'one two',
        literal: 'line 1\nline 2',
        'allowed-tools': '- Read - Grep',
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
      reason: 'frontmatter line 2 is not "key: value": just text',
    });
    expect(parseFrontmatter('---\nname: a\nname: b\n---\n')).toEqual({
      ok: false,
      reason: 'frontmatter key "name" appears twice',
    });
  });
});
