import type { Env } from '../env-values.js';

export interface Expansion {
  value: string;
  /** One sentence per reference that could not be resolved. */
  problems: string[];
}

const REFERENCE = /\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${NAME}` with the variable's value and `${NAME:-fallback}` with the
 * value, or the fallback when the variable is unset or empty (the two forms
 * Claude Code's own `.mcp.json` accepts, with the shell's meaning). A plain reference to an
 * unset variable is a problem rather than an empty string: a missing token
 * should stop the start, not turn into a confusing 401 later. An empty value
 * counts as set, as in the shell.
 */
export function expandEnvReferences(text: string, env: Env): Expansion {
  const problems: string[] = [];
  const value = text.replace(REFERENCE, (whole, inner: string) => {
    const fallbackAt = inner.indexOf(':-');
    const name = fallbackAt === -1 ? inner : inner.slice(0, fallbackAt);
    if (!NAME.test(name)) {
      problems.push(
        `malformed reference ${whole}: expected \${NAME} or \${NAME:-fallback} with NAME made of letters, digits and underscores`,
      );
      return whole;
    }
    const found = env[name];
    if (fallbackAt !== -1) {
      return found === undefined || found === '' ? inner.slice(fallbackAt + 2) : found;
    }
    if (found === undefined) {
      problems.push(`environment variable ${name} is not set (referenced as ${whole})`);
      return whole;
    }
    return found;
  });
  return { value, problems };
}
