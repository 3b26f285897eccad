import { z } from 'zod';
import { INVALID, readJsonFile } from './files.js';
import { type IssueSink, strictObject } from './issues.js';

export const POLICY_FILE = 'policy.json';

export const DEFAULT_MAX_TURNS = 20;

/**
 * `policy.json`: limits on what one agent turn may do. Every field has a
 * default, so a missing file is the default policy. New fields go in this
 * shape; `.strict()` (via strictObject) keeps misspelt ones from being ignored.
 */
export const policySchema = strictObject({
  /** Model round-trips allowed in one turn before the SDK stops it. */
  maxTurns: z
    .number()
    .int('expected a positive integer')
    .positive('expected a positive integer')
    .default(DEFAULT_MAX_TURNS),
});

export type AgentPolicy = z.output<typeof policySchema>;

/** Loads `policy.json`, or the defaults when it is absent; problems go to `sink`. */
export async function loadPolicy(dir: string, sink: IssueSink): Promise<AgentPolicy> {
  const raw = await readJsonFile(dir, POLICY_FILE, sink);
  const parsed = policySchema.safeParse(raw === undefined || raw === INVALID ? {} : raw);
  if (!parsed.success) {
    sink.addZodError(POLICY_FILE, ['policy'], parsed.error, raw);
    return policySchema.parse({});
  }
  return parsed.data;
}
