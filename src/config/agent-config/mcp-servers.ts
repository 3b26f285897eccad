import type { McpHttpServerConfig, McpStdioServerConfig } from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import type { Env } from '../env-values.js';
import { expandEnvReferences } from './env-references.js';
import { INVALID, readJsonFile } from './files.js';
import { type IssueSink, nonEmptyString, type PathSegment, strictObject } from './issues.js';

export const MCP_FILE = 'mcp.json';

/** The MCP server kinds a configuration directory may declare (serialisable ones only). */
export type ConfiguredMcpServer = McpHttpServerConfig | McpStdioServerConfig;

const stringMap = z.record(z.string(), z.string(), {
  error: (issue) =>
    issue.code === 'invalid_type' ? 'expected an object of string values' : undefined,
});

// The URL is checked after `${VAR}` resolution, since a reference is not a URL yet.
const httpServerSchema = strictObject({
  type: z.literal('http'),
  url: nonEmptyString('a URL'),
  headers: stringMap.optional(),
});

const stdioServerSchema = strictObject({
  type: z.literal('stdio'),
  command: nonEmptyString('a command'),
  args: z.array(z.string()).optional(),
  env: stringMap.optional(),
});

/** One entry of `mcpServers`. */
const serverSchema = z.discriminatedUnion('type', [httpServerSchema, stdioServerSchema], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'expected "type" to be "http" or "stdio"' : undefined,
});

/**
 * Server names become part of tool names (`mcp__<server>__<tool>`), which
 * permission rules and subagent tool lists match on.
 */
const serverName = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]+$/,
    'MCP server names use letters, digits, hyphens and underscores (they become part of tool names, mcp__<server>__<tool>)',
  );

/**
 * `mcp.json` itself, in the shape of Claude Code's own `.mcp.json`. Each server
 * is checked on its own so that one broken entry does not hide the problems of
 * the others.
 */
const mcpFileSchema = strictObject({
  mcpServers: z.record(z.string(), z.unknown(), {
    error: (issue) =>
      issue.code === 'invalid_type' ? 'expected an object keyed by server name' : undefined,
  }),
});

type ParsedServer = z.output<typeof serverSchema>;

/** Loads `mcp.json` and resolves its `${VAR}` references from `env`; problems go to `sink`. */
export async function loadMcpServers(
  dir: string,
  env: Env,
  sink: IssueSink,
): Promise<Record<string, ConfiguredMcpServer>> {
  const raw = await readJsonFile(dir, MCP_FILE, sink);
  if (raw === undefined || raw === INVALID) return {};
  const parsed = mcpFileSchema.safeParse(raw);
  if (!parsed.success) sink.addZodError(MCP_FILE, [], parsed.error, raw);
  // A stray top-level key should not hide the servers' own problems.
  const entries = serverEntries(parsed.success ? parsed.data : raw);

  const servers: Record<string, ConfiguredMcpServer> = {};
  for (const [name, value] of entries) {
    const at = ['mcpServers', name];
    const nameCheck = serverName.safeParse(name);
    if (!nameCheck.success) {
      sink.addZodError(MCP_FILE, at, nameCheck.error, name);
      continue;
    }
    const server = serverSchema.safeParse(value);
    if (!server.success) {
      sink.addZodError(MCP_FILE, at, server.error, value);
      continue;
    }
    const resolved = resolveServer(name, server.data, env, sink);
    if (resolved) servers[name] = resolved;
  }
  return servers;
}

function serverEntries(file: unknown): [string, unknown][] {
  if (!isPlainObject(file) || !isPlainObject(file.mcpServers)) return [];
  return Object.entries(file.mcpServers);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveServer(
  name: string,
  server: ParsedServer,
  env: Env,
  sink: IssueSink,
): ConfiguredMcpServer | undefined {
  const before = sink.issues.length;
  const at = (...field: PathSegment[]) => ['mcpServers', name, ...field];
  const expand = (text: string, path: PathSegment[]): string => {
    const { value, problems } = expandEnvReferences(text, env);
    for (const problem of problems) sink.add(MCP_FILE, path, problem);
    return value;
  };
  const expandMap = (map: Record<string, string> | undefined, field: string) =>
    map
      ? Object.fromEntries(
          Object.entries(map).map(([key, value]) => [key, expand(value, at(field, key))]),
        )
      : undefined;

  let result: ConfiguredMcpServer;
  if (server.type === 'http') {
    const beforeUrl = sink.issues.length;
    const url = expand(server.url, at('url'));
    // Only a fully resolved URL can be checked.
    if (sink.issues.length === beforeUrl) checkUrl(url, server.url, at('url'), sink);
    const headers = expandMap(server.headers, 'headers');
    result = { type: 'http', url, ...(headers ? { headers } : {}) };
  } else {
    const command = expand(server.command, at('command'));
    const args = server.args?.map((arg, index) => expand(arg, at('args', index)));
    const serverEnv = expandMap(server.env, 'env');
    result = {
      type: 'stdio',
      command,
      ...(args ? { args } : {}),
      ...(serverEnv ? { env: serverEnv } : {}),
    };
  }
  return sink.issues.length === before ? result : undefined;
}

/** The message quotes the URL as written, not as resolved: a resolved value may carry a secret. */
function checkUrl(url: string, written: string, path: PathSegment[], sink: IssueSink): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    sink.add(MCP_FILE, path, `expected an http:// or https:// URL, got "${written}"`);
    return;
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    sink.add(MCP_FILE, path, `expected an http:// or https:// URL, got "${written}"`);
  }
}
