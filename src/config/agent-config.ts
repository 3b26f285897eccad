import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { AgentDefinition } from '@anthropic-ai/claude-agent-sdk';
import { errorMessage } from '../domain/errors.js';
import { errorCode, readText } from './agent-config/files.js';
import { IssueSink } from './agent-config/issues.js';
import { type ConfiguredMcpServer, loadMcpServers } from './agent-config/mcp-servers.js';
import { type AgentPolicy, loadPolicy } from './agent-config/policy.js';
import { loadSkills, type SkillInfo } from './agent-config/skills.js';
import { loadSubagents } from './agent-config/subagents.js';
import { AgentConfigError } from './config-error.js';
import type { Env } from './env-values.js';

export type { ConfiguredMcpServer } from './agent-config/mcp-servers.js';
export {
  type AgentPolicy,
  DEFAULT_MAX_TURNS,
  defaultPolicy,
  policySchema,
} from './agent-config/policy.js';
export type { ShellSandbox } from './agent-config/shell-sandbox.js';
export type { SkillInfo } from './agent-config/skills.js';
export { AgentConfigError, type ConfigIssue } from './config-error.js';
export type { Env } from './env-values.js';

export const SYSTEM_PROMPT_FILE = 'system_prompt.md';

/** Everything the agent directory configures, validated; field shapes are the SDK's own. */
export interface AgentConfig {
  /** Absolute path of the configuration directory. */
  dir: string;
  /** Text of `system_prompt.md`, trimmed. */
  systemPrompt: string;
  /** Subagents from `agents.json`, prompts loaded; pass as the SDK's `agents` option. */
  agents: Record<string, AgentDefinition>;
  /** Servers from `mcp.json` with `${VAR}` resolved; pass as the SDK's `mcpServers` option. */
  mcpServers: Record<string, ConfiguredMcpServer>;
  /** Skills found under `skills/`, sorted by name. */
  skills: SkillInfo[];
  /** Absolute path of `skills/`, or null when there are no skills. */
  skillsDir: string | null;
  /** `policy.json`, with defaults filled in. */
  policy: AgentPolicy;
}

/**
 * Loads and validates the agent configuration directory, once, at start-up.
 * `env` resolves the `${VAR}` references of `mcp.json` (and its PATH is where
 * the shell sandbox's programs are looked for); it is a parameter
 * rather than `process.env` so that callers choose what the configuration may
 * see, and tests need not touch the process environment.
 *
 * Throws one AgentConfigError listing every problem found.
 */
export async function loadAgentConfig(dir: string, env: Env): Promise<AgentConfig> {
  const root = path.resolve(dir);
  await assertDirectory(root);

  // One sink per section, merged in a fixed order so the report reads the same every time.
  const sinks = {
    systemPrompt: new IssueSink(),
    agents: new IssueSink(),
    mcp: new IssueSink(),
    skills: new IssueSink(),
    policy: new IssueSink(),
  };
  const [systemPrompt, agents, mcpServers, skills, policy] = await Promise.all([
    loadSystemPrompt(root, sinks.systemPrompt),
    loadSubagents(root, sinks.agents),
    loadMcpServers(root, env, sinks.mcp),
    loadSkills(root, sinks.skills),
    loadPolicy(root, env, sinks.policy),
  ]);

  const issues = Object.values(sinks).flatMap((sink) => sink.issues);
  if (issues.length > 0) throw new AgentConfigError(root, issues);
  return {
    dir: root,
    systemPrompt,
    agents,
    mcpServers,
    skills: skills.skills,
    skillsDir: skills.skillsDir,
    policy,
  };
}

async function assertDirectory(root: string): Promise<void> {
  let message: string | undefined;
  try {
    if (!(await stat(root)).isDirectory()) message = 'expected a directory, found a file';
  } catch (error) {
    message =
      errorCode(error) === 'ENOENT'
        ? 'the configuration directory does not exist'
        : `cannot read the configuration directory: ${errorMessage(error)}`;
  }
  if (message) throw new AgentConfigError(root, [{ file: root, path: '', message }]);
}

async function loadSystemPrompt(root: string, sink: IssueSink): Promise<string> {
  const read = await readText(path.join(root, SYSTEM_PROMPT_FILE));
  if (read.kind === 'missing') {
    sink.add(
      SYSTEM_PROMPT_FILE,
      [],
      "required file is missing: it holds the agent's system prompt",
    );
    return '';
  }
  if (read.kind === 'unreadable') {
    sink.add(SYSTEM_PROMPT_FILE, [], `cannot read the file: ${read.reason}`);
    return '';
  }
  const prompt = read.text.trim();
  if (prompt === '')
    sink.add(SYSTEM_PROMPT_FILE, [], "expected the agent's system prompt, but the file is empty");
  return prompt;
}
