import { z } from 'zod';
import type { Env } from '../env-values.js';
import { INVALID, readJsonFile } from './files.js';
import { type IssueSink, strictObject } from './issues.js';
import { detectShellSandbox, type ShellSandbox } from './shell-sandbox.js';

export const POLICY_FILE = 'policy.json';

export const DEFAULT_MAX_TURNS = 20;
export const DEFAULT_MAX_BUDGET_USD_PER_TURN = 1;
export const DEFAULT_MAX_BUDGET_USD_PER_CONVERSATION_PER_DAY = 10;
export const DEFAULT_MCP_CONNECT_TIMEOUT_MS = 10_000;

const positiveUsd = z
  .number()
  .positive('expected a positive amount in US dollars')
  .max(1_000_000, 'expected at most 1000000 US dollars');

/** `example.com` or `*.example.com`; lowercase, no scheme, port or path. */
const domain = z
  .string()
  .regex(
    /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/,
    'expected a domain such as example.com or *.example.com (lowercase, no scheme, port or path)',
  );

const shellSchema = strictObject({
  /** Offer the Bash tool. Off unless the operator opts in. */
  enabled: z.boolean().default(false),
  /** Hosts shell commands may reach through the sandbox's proxy; none by default. */
  allowedDomains: z.array(domain).default([]),
  /**
   * Run the shell even where no sandbox is available, knowing that it then
   * reaches everything the service's own user can (see agent/README.md).
   */
  acknowledgeUnsandboxed: z.boolean().default(false),
  /**
   * `allow` (when absent) or `ask`: each command waits for the person's
   * approval in the chat (Allow once / Always in this conversation / Deny).
   */
  commands: z.enum(['allow', 'ask'], { error: 'expected "allow" or "ask"' }).optional(),
});

const webSchema = strictObject({
  /** WebFetch: read a web page. Private and loopback addresses are always refused. */
  fetch: z.boolean().default(true),
  /** WebSearch: the model provider's web search. */
  search: z.boolean().default(true),
  /** When set, WebFetch may only reach these hosts. */
  allowedDomains: z.array(domain).optional(),
  /**
   * Fetches of hosts not in `allowedDomains`: refused (`deny`, the default),
   * or put to the person for approval (`ask`). Private addresses are refused either way.
   */
  otherHosts: z.enum(['deny', 'ask'], { error: 'expected "deny" or "ask"' }).optional(),
});

/** `mcp__server__tool`, or `mcp__server__*` for all of a server's tools. */
const mcpToolName = z
  .string()
  .regex(
    /^mcp__[A-Za-z0-9_-]+__([A-Za-z0-9_.-]+|\*)$/,
    'expected an MCP tool name such as mcp__github__create_issue, or mcp__github__* for all its tools',
  );

const toolsSchema = strictObject({
  /**
   * File tools (Read, Glob, Grep; and Write, Edit, NotebookEdit for
   * read-write), always confined to the conversation's working directory.
   */
  files: z
    .enum(['off', 'read-only', 'read-write'], {
      error: 'expected "off", "read-only" or "read-write"',
    })
    .default('read-write'),
  shell: shellSchema.prefault({}),
  web: webSchema.prefault({}),
  /**
   * MCP tools by name: `allow` (what every tool of a configured server gets
   * when not named), `ask` (the person approves each call in the chat) or `deny`.
   */
  mcp: z
    .record(
      mcpToolName,
      z.enum(['allow', 'ask', 'deny'], { error: 'expected "allow", "ask" or "deny"' }),
    )
    .optional(),
});

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
  /** Spend allowed for one turn (the SDK's cost estimate), subagents included. */
  maxBudgetUsdPerTurn: positiveUsd.default(DEFAULT_MAX_BUDGET_USD_PER_TURN),
  /** Spend allowed for one conversation in one UTC day. */
  maxBudgetUsdPerConversationPerDay: positiveUsd.default(
    DEFAULT_MAX_BUDGET_USD_PER_CONVERSATION_PER_DAY,
  ),
  /** How long a turn waits for MCP servers to connect before going on without them. */
  mcpConnectTimeoutMs: z
    .number()
    .int('expected a whole number of milliseconds')
    .min(100, 'expected at least 100 milliseconds')
    .max(300_000, 'expected at most 300000 milliseconds (five minutes)')
    .default(DEFAULT_MCP_CONNECT_TIMEOUT_MS),
  tools: toolsSchema.prefault({}),
});

type ParsedPolicy = z.output<typeof policySchema>;

/**
 * The policy as the runtime uses it: the file's settings, plus whether the
 * shell (when enabled) runs in Claude Code's sandbox, found out at load time.
 */
export type AgentPolicy = ParsedPolicy & {
  tools: { shell: { sandboxed: boolean } };
};

/** The policy of an agent directory without `policy.json`. */
export function defaultPolicy(): AgentPolicy {
  return withSandbox(policySchema.parse({}), false);
}

export interface LoadPolicyOptions {
  /** Finds out whether shell commands can be sandboxed here; only asked when the shell is enabled. */
  detectSandbox?: (env: Env) => Promise<ShellSandbox>;
}

/**
 * Loads `policy.json`, or the defaults when it is absent; problems go to
 * `sink`. An enabled shell needs a sandbox: where there is none, the shell is
 * refused unless the file acknowledges running it unsandboxed.
 */
export async function loadPolicy(
  dir: string,
  env: Env,
  sink: IssueSink,
  options: LoadPolicyOptions = {},
): Promise<AgentPolicy> {
  const raw = await readJsonFile(dir, POLICY_FILE, sink);
  const parsed = policySchema.safeParse(raw === undefined || raw === INVALID ? {} : raw);
  if (!parsed.success) {
    sink.addZodError(POLICY_FILE, ['policy'], parsed.error, raw);
    return defaultPolicy();
  }
  const shell = parsed.data.tools.shell;
  if (!shell.enabled) return withSandbox(parsed.data, false);

  const sandbox = await (options.detectSandbox ?? detectShellSandbox)(env);
  if (sandbox.available) return withSandbox(parsed.data, true);
  if (!shell.acknowledgeUnsandboxed) {
    sink.add(
      POLICY_FILE,
      ['policy', 'tools', 'shell', 'enabled'],
      `the shell needs a sandbox and none is available here (${sandbox.reason}). ` +
        'Install bubblewrap and socat, or turn the shell off; to run it unsandboxed anyway, ' +
        'set tools.shell.acknowledgeUnsandboxed to true after reading what an unsandboxed ' +
        'shell can reach (agent/README.md)',
    );
    return defaultPolicy();
  }
  return withSandbox(parsed.data, false);
}

function withSandbox(policy: ParsedPolicy, sandboxed: boolean): AgentPolicy {
  return { ...policy, tools: { ...policy.tools, shell: { ...policy.tools.shell, sandboxed } } };
}
