import type { AgentDefinition } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import { INVALID, readJsonFile, readText, resolveFileInside } from './files.js';
import { type IssueSink, nonEmptyString, strictObject } from './issues.js';
import { kebabName } from './names.js';

export const AGENTS_FILE = 'agents.json';

const MODEL_ALIASES = ['sonnet', 'opus', 'haiku', 'inherit'] as const;

/**
 * An alias, or something shaped like a model id (`claude-haiku-4-5`,
 * `us.anthropic.claude-...`, a Bedrock ARN). Requiring a separator in ids is
 * what turns a misspelt alias such as "hiaku" into an error instead of a
 * request for a model that does not exist.
 */
const modelSchema = z
  .string()
  .refine(
    (model) =>
      (MODEL_ALIASES as readonly string[]).includes(model) ||
      (/^[A-Za-z0-9][A-Za-z0-9._:/@[\]-]*$/.test(model) && /[-.:/]/.test(model)),
    `expected one of ${MODEL_ALIASES.join(', ')} or a full model id such as claude-haiku-4-5`,
  );

/** One entry of `agents.json`. */
const subagentSchema = strictObject({
  description: nonEmptyString('a description of when to use the subagent'),
  prompt_file: nonEmptyString('a path to the prompt file'),
  tools: z.array(nonEmptyString('a tool name')).optional(),
  model: modelSchema.optional(),
});

const subagentName = kebabName('subagent');

/** `agents.json` itself: an object keyed by subagent name; each entry is checked on its own. */
const agentsFileSchema = z.record(z.string(), z.unknown(), {
  error: (issue) =>
    issue.code === 'invalid_type' ? 'expected an object keyed by subagent name' : undefined,
});

const ROOT = ['agents'];

/**
 * Loads `agents.json` and each subagent's prompt file; problems go to `sink`.
 * Subagents are checked one by one so that one broken entry does not hide the
 * problems of the others.
 */
export async function loadSubagents(
  dir: string,
  sink: IssueSink,
): Promise<Record<string, AgentDefinition>> {
  const raw = await readJsonFile(dir, AGENTS_FILE, sink);
  if (raw === undefined || raw === INVALID) return {};
  const parsed = agentsFileSchema.safeParse(raw);
  if (!parsed.success) {
    sink.addZodError(AGENTS_FILE, ROOT, parsed.error, raw);
    return {};
  }

  const agents: Record<string, AgentDefinition> = {};
  for (const [name, value] of Object.entries(parsed.data)) {
    const nameCheck = subagentName.safeParse(name);
    if (!nameCheck.success) {
      sink.addZodError(AGENTS_FILE, [...ROOT, name], nameCheck.error, name);
      continue;
    }
    const entry = subagentSchema.safeParse(value);
    if (!entry.success) {
      sink.addZodError(AGENTS_FILE, [...ROOT, name], entry.error, value);
      continue;
    }
    const prompt = await readPrompt(dir, name, entry.data.prompt_file, sink);
    if (prompt === undefined) continue;
    agents[name] = {
      description: entry.data.description,
      prompt,
      ...(entry.data.tools ? { tools: entry.data.tools } : {}),
      ...(entry.data.model ? { model: entry.data.model } : {}),
    };
  }
  return agents;
}

async function readPrompt(
  dir: string,
  name: string,
  promptFile: string,
  sink: IssueSink,
): Promise<string | undefined> {
  const path = [...ROOT, name, 'prompt_file'];
  const resolved = await resolveFileInside(dir, promptFile);
  if (!resolved.ok) {
    sink.add(AGENTS_FILE, path, resolved.reason);
    return undefined;
  }
  const read = await readText(resolved.absPath);
  if (read.kind !== 'text') {
    sink.add(AGENTS_FILE, path, `cannot read "${promptFile}"`);
    return undefined;
  }
  const prompt = read.text.trim();
  if (prompt === '') {
    sink.add(
      AGENTS_FILE,
      path,
      `expected "${promptFile}" to hold the subagent's prompt, but it is empty`,
    );
    return undefined;
  }
  return prompt;
}
