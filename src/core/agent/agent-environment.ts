/**
 * The agent process's whole environment, built from nothing. The SDK passes
 * `env` to Claude Code as its complete environment, so nothing of the parent's
 * (bot token, cloud keys, anything in `.env`) reaches the agent unless it is
 * listed here.
 */
export function agentEnvironment(options: {
  configDir: string;
  modelEnv: Record<string, string>;
  path?: string | undefined;
  /** How long Claude Code waits for MCP servers to connect. */
  mcpTimeoutMs?: number | undefined;
  /**
   * Claude Code's own retries of a failed model request (its default is 10,
   * with backoff: minutes on a model that is down). See model-failure.ts.
   */
  maxRetries?: number | undefined;
}): Record<string, string> {
  return {
    // PATH is needed to find the shell and git; it carries no secret.
    PATH: options.path ?? '/usr/local/bin:/usr/bin:/bin',
    // Home and config point at the turn's throwaway directory, so the agent
    // reads no real dotfiles and writes nothing that outlives the turn.
    HOME: options.configDir,
    CLAUDE_CONFIG_DIR: options.configDir,
    TMPDIR: `${options.configDir}/tmp`,
    LANG: 'C.UTF-8',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    CLAUDE_AGENT_SDK_CLIENT_APP: 'telegram-claude-agent/0.1',
    ...(options.mcpTimeoutMs ? { MCP_TIMEOUT: String(options.mcpTimeoutMs) } : {}),
    ...(options.maxRetries !== undefined
      ? { CLAUDE_CODE_MAX_RETRIES: String(options.maxRetries) }
      : {}),
    ...options.modelEnv,
  };
}
