import type { Query, SDKSystemMessage } from '@anthropic-ai/claude-agent-sdk';
import type { Logger } from '../../ports/logger.js';

/** How long a turn's end may wait for Claude Code to say why an MCP server is unavailable. */
const MCP_STATUS_WAIT_MS = 2_000;

/**
 * Logs each MCP server that is not connected when the turn starts; the turn
 * goes on without its tools. The reason is asked of Claude Code, best effort:
 * the turn may be over before it answers.
 */
export async function reportUnavailableMcpServers(
  turn: Query,
  init: SDKSystemMessage,
  conversationId: string,
  logger: Logger,
): Promise<void> {
  const unavailable = init.mcp_servers.filter((server) => server.status !== 'connected');
  if (unavailable.length === 0) return;
  let errors = new Map<string, string | undefined>();
  let timer: NodeJS.Timeout | undefined;
  try {
    // Bounded: a control request to a process that has just exited may never be answered.
    const statuses = await Promise.race([
      turn.mcpServerStatus(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), MCP_STATUS_WAIT_MS);
      }),
    ]);
    errors = new Map(statuses.map((server) => [server.name, server.error]));
  } catch {
    // The turn ended first, or Claude Code did not say; the status alone will do.
  } finally {
    clearTimeout(timer);
  }
  for (const server of unavailable) {
    logger.warn('MCP server unavailable; the turn goes on without its tools', {
      conversationId,
      server: server.name,
      status: server.status,
      error: errors.get(server.name),
    });
  }
}
