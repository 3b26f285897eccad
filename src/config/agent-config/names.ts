import { z } from 'zod';

/**
 * Subagent and skill names: lowercase letters, digits and single hyphens, as
 * Claude Code expects for both. They appear in tool calls and directory names,
 * so anything looser invites names that work on one machine and not another.
 */
const KEBAB_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_NAME_LENGTH = 64;

export function kebabName(what: string) {
  return z
    .string()
    .refine(
      (name) => name.length <= MAX_NAME_LENGTH && KEBAB_NAME.test(name),
      `${what} names use lowercase letters, digits and single hyphens (like aws-support), at most ${MAX_NAME_LENGTH} characters`,
    );
}
