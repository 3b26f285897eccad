import type { SandboxSettings } from '@anthropic-ai/claude-agent-sdk';

/**
 * What sandboxed shell commands may read besides their own directories: the
 * system's programs, libraries and configuration. Everything else (the
 * service's project directory and its `.env`, the data directory with every
 * conversation, home directories with cloud credentials, other turns' temp
 * directories) is unreadable. /proc inside the sandbox is a fresh mount that
 * shows only the sandbox's own processes.
 */
export const SANDBOX_SYSTEM_READ_PATHS = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/etc',
  '/dev',
];

/**
 * Variables Claude Code itself needs but shell commands must not see: the
 * per-turn gateway URL (its token would let a command call the model on the
 * service's account while the turn lasts) and the placeholder key.
 */
export const SANDBOX_HIDDEN_VARIABLES = [
  'ANTHROPIC_BASE_URL',
  'ANTHROPIC_BEDROCK_BASE_URL',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
];

/**
 * Claude Code's sandbox settings for the shell (bubblewrap on Linux): reads
 * limited to the system, the conversation's working directory, the turn's
 * config directory and the read-only roots; writes to the working directory
 * (Claude Code's default, plus its own temp directory); network only to
 * `allowedDomains` through its proxy. A command that cannot be sandboxed
 * fails instead of running outside (`allowUnsandboxedCommands: false`), and
 * the turn fails if the sandbox cannot start (`failIfUnavailable`).
 */
export function shellSandboxSettings(options: {
  workspace: string;
  configDir: string;
  readOnly: readonly string[];
  allowedDomains: readonly string[];
  /**
   * Whether Claude Code itself runs in the whole-process sandbox
   * (process-sandbox.ts). Its shell sandbox then skips its own fresh /proc,
   * which the kernel refuses inside ours (bubblewrap's /proc has read-only
   * covers, so it is not "fully visible"): commands see our sandbox's /proc,
   * which lists only the turn's own processes, and the kernel denies them
   * those processes' environments (they are in another user namespace).
   */
  nested?: boolean;
}): SandboxSettings {
  return {
    enabled: true,
    ...(options.nested ? { enableWeakerNestedSandbox: true } : {}),
    failIfUnavailable: true,
    autoAllowBashIfSandboxed: true,
    allowUnsandboxedCommands: false,
    network: { allowedDomains: [...options.allowedDomains] },
    filesystem: {
      denyRead: ['/'],
      allowRead: [
        ...SANDBOX_SYSTEM_READ_PATHS,
        options.workspace,
        options.configDir,
        ...options.readOnly,
      ],
    },
    credentials: {
      envVars: SANDBOX_HIDDEN_VARIABLES.map((name) => ({ name, mode: 'deny' as const })),
    },
  };
}
