import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

// The tool's name and reply marker come from stdioServerEntry's arguments.
const [STDIO_TOOL = 'reverse', STDIO_MARKER = 'STDIO-MCP-REPLY'] = process.argv.slice(2);
/** Same as stdioReply in mcp-test-servers.ts, which this script cannot import. */
const stdioReply = (text: string) => `${STDIO_MARKER}: ${[...text].reverse().join('')}`;

// Started by Claude Code as a child process (see stdioServerEntry); speaks
// MCP on stdin and stdout until Claude Code closes them.
const server = new McpServer({ name: 'stdio-test-server', version: '1.0.0' });
server.registerTool(
  STDIO_TOOL,
  { description: 'Reverses a piece of text.', inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: 'text', text: stdioReply(text) }] }),
);
await server.connect(new StdioServerTransport());
