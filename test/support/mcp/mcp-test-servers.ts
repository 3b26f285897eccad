import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { closeServer, listenOnLoopback } from '../../../src/lib/http-server.js';

/**
 * MCP servers for the end-to-end tests: one Claude Code starts over stdio
 * (a child process running `stdio-test-server.ts`), one it reaches over
 * Streamable HTTP (in this process, so a test can see the calls arrive).
 * Each tool answers with a marker a test looks for in the tool result the
 * model is sent back.
 */

export const STDIO_TOOL = 'reverse';
export const STDIO_MARKER = 'STDIO-MCP-REPLY';
export const HTTP_TOOL = 'lookup';
export const HTTP_MARKER = 'HTTP-MCP-REPLY';
/** An HTTP server tool whose answer is too large to hand the model whole. */
export const HTTP_BIG_TOOL = 'dump';

/** The reply of the stdio server's tool, shared with the server script. */
export function stdioReply(text: string): string {
  return `${STDIO_MARKER}: ${[...text].reverse().join('')}`;
}

/**
 * An `mcp.json` entry that starts the stdio test server. Absolute paths
 * throughout: Claude Code starts it from the conversation's working
 * directory, where neither `tsx` nor the script would be found by name.
 * The script imports nothing of the project's: the process sandbox mounts
 * the paths named here and the node_modules they resolve from, no more.
 */
export function stdioServerEntry(): { type: 'stdio'; command: string; args: string[] } {
  return {
    type: 'stdio',
    command: process.execPath,
    args: [
      '--import',
      import.meta.resolve('tsx'),
      fileURLToPath(new URL('./stdio-test-server.ts', import.meta.url)),
      // Passed in rather than imported: in the process sandbox the server
      // sees its own file and node_modules, not this module's imports.
      STDIO_TOOL,
      STDIO_MARKER,
    ],
  };
}

/** A Streamable HTTP MCP server on loopback, stateless, recording each tool call. */
export class HttpTestMcpServer {
  /** Arguments of every call to the tool, in order. */
  readonly calls: Array<{ key: string }> = [];
  private server: Server | undefined;
  private port = 0;

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      // Stateless mode: a fresh server and transport per request, as the SDK recommends.
      const mcp = this.build();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      mcp
        .connect(transport)
        .then(() => transport.handleRequest(req, res))
        .catch((error: unknown) => {
          if (!res.headersSent) res.writeHead(500).end(String(error));
        });
    });
    this.port = await listenOnLoopback(server);
    this.server = server;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/mcp`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server);
  }

  private build(): McpServer {
    const mcp = new McpServer({ name: 'http-test-server', version: '1.0.0' });
    mcp.registerTool(
      HTTP_TOOL,
      {
        description: 'Looks up a value by key in the test directory.',
        inputSchema: { key: z.string() },
      },
      async ({ key }) => {
        this.calls.push({ key });
        return { content: [{ type: 'text', text: `${HTTP_MARKER}: value of ${key}` }] };
      },
    );
    mcp.registerTool(
      HTTP_BIG_TOOL,
      {
        description: 'Returns a long text of the given number of lines.',
        inputSchema: { lines: z.number().int().positive() },
      },
      async ({ lines }) => ({
        content: [
          {
            type: 'text',
            text: Array.from({ length: lines }, (_, i) => `${HTTP_MARKER} line ${i + 1}`).join(
              '\n',
            ),
          },
        ],
      }),
    );
    return mcp;
  }
}
