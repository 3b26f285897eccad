// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} references are the data under test.
import { describe, expect, it } from 'vitest';
import { expandEnvReferences } from './env-references.js';

describe('expandEnvReferences', () => {
  it('replaces every ${NAME} with its value and leaves other text alone', () => {
    expect(expandEnvReferences('$HOME ${A}-${B}/${A} $', { A: 'x', B: 'y' })).toEqual({
      value: '$HOME x-y/x $',
      problems: [],
    });
  });

  it('uses the fallback of ${NAME:-fallback} when the variable is unset or empty', () => {
    const env = { SET: 'v', EMPTY: '' };

    expect(expandEnvReferences('${SET:-d} ${EMPTY:-d} ${UNSET:-d} ${UNSET:-}', env)).toEqual({
      value: 'v d d ',
      problems: [],
    });
  });

  it('treats an empty value as set', () => {
    expect(expandEnvReferences('[${EMPTY}]', { EMPTY: '' })).toEqual({ value: '[]', problems: [] });
  });

  it('reports unset variables and malformed references', () => {
    const { problems } = expandEnvReferences('${MISSING} ${} ${1X} ${A B}', {});

    expect(problems).toEqual([
      'environment variable MISSING is not set (referenced as ${MISSING})',
      expect.stringContaining('malformed reference ${}'),
      expect.stringContaining('malformed reference ${1X}'),
      expect.stringContaining('malformed reference ${A B}'),
    ]);
  });

  it('does not expand references inside values', () => {
    expect(expandEnvReferences('${A}', { A: '${B}', B: 'no' }).value).toBe('${B}');
  });
});
