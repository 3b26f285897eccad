// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} references are the data under test.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultPolicy, type Env, loadAgentConfig } from './agent-config.js';
import { AgentConfigError } from './config-error.js';

const SHIPPED_DIR = fileURLToPath(new URL('../../agent/', import.meta.url));

const tempDirs: string[] = [];

afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Writes a configuration directory into a fresh temp dir; values that are not strings become JSON. */
async function fixture(files: Record<string, unknown>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'agent-config-'));
  tempDirs.push(root);
  const dir = path.join(root, 'agent');
  await mkdir(dir);
  for (const [name, content] of Object.entries(files)) {
    const target = path.join(dir, name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const PROMPT = { 'system_prompt.md': 'You are helpful.\n' };

async function loadError(dir: string, env: Env = {}): Promise<AgentConfigError> {
  try {
    await loadAgentConfig(dir, env);
  } catch (error) {
    expect(error).toBeInstanceOf(AgentConfigError);
    return error as AgentConfigError;
  }
  throw new Error('expected loadAgentConfig to fail');
}

describe('loadAgentConfig', () => {
  it('loads the shipped agent directory', async () => {
    const config = await loadAgentConfig(SHIPPED_DIR, {});

    expect(config.dir).toBe(path.resolve(SHIPPED_DIR));
    expect(config.systemPrompt).toContain('aws-support');
    expect(Object.keys(config.agents)).toEqual(['aws-support']);
    expect(config.agents['aws-support']).toMatchObject({
      description: expect.stringContaining('AWS'),
      prompt: expect.stringContaining('AWS support engineer'),
      tools: expect.arrayContaining(['mcp__aws-knowledge__*']),
    });
    expect(config.mcpServers).toEqual({
      'aws-knowledge': { type: 'http', url: 'https://knowledge-mcp.global.api.aws' },
    });
    expect(config.skills).toEqual([
      {
        name: 'hello-world',
        description: expect.stringContaining('Use when'),
        dir: path.join(path.resolve(SHIPPED_DIR), 'skills', 'hello-world'),
      },
    ]);
    expect(config.skillsDir).toBe(path.join(path.resolve(SHIPPED_DIR), 'skills'));
    expect(config.policy).toEqual(defaultPolicy());
  });

  it('needs only a system prompt, and fills in defaults', async () => {
    const dir = await fixture(PROMPT);

    const config = await loadAgentConfig(dir, {});

    expect(config).toEqual({
      dir,
      systemPrompt: 'You are helpful.',
      agents: {},
      mcpServers: {},
      skills: [],
      skillsDir: null,
      policy: defaultPolicy(),
    });
  });

  it('maps a subagent to the SDK AgentDefinition, omitting unset fields', async () => {
    const dir = await fixture({
      ...PROMPT,
      'agents.json': {
        'db-helper': { description: 'Databases.', prompt_file: 'prompts/db.md', model: 'haiku' },
        'full-id': {
          description: 'Pinned model.',
          prompt_file: 'prompts/db.md',
          tools: [],
          model: 'claude-sonnet-4-5',
        },
      },
      'prompts/db.md': '  You know SQL.\n',
    });

    const { agents } = await loadAgentConfig(dir, {});

    expect(agents).toEqual({
      'db-helper': { description: 'Databases.', prompt: 'You know SQL.', model: 'haiku' },
      'full-id': {
        description: 'Pinned model.',
        prompt: 'You know SQL.',
        tools: [],
        model: 'claude-sonnet-4-5',
      },
    });
  });

  it('resolves ${VAR} references in headers and env from the env passed in', async () => {
    const dir = await fixture({
      ...PROMPT,
      'mcp.json': {
        mcpServers: {
          docs: {
            type: 'http',
            url: 'https://${DOCS_HOST}/mcp',
            headers: { Authorization: 'Bearer ${DOCS_TOKEN}', 'X-Team': '${TEAM:-core}' },
          },
          local: {
            type: 'stdio',
            command: './bin/server',
            args: ['--root', '${DATA_DIR}/files'],
            env: { API_KEY: '${API_KEY}', EMPTY: '${EMPTY}' },
          },
        },
      },
    });
    const env = {
      DOCS_HOST: 'docs.example.com',
      DOCS_TOKEN: 'secret-token',
      DATA_DIR: '/srv/data',
      API_KEY: 'k-123',
      EMPTY: '',
    };

    const { mcpServers } = await loadAgentConfig(dir, env);

    expect(mcpServers).toEqual({
      docs: {
        type: 'http',
        url: 'https://docs.example.com/mcp',
        headers: { Authorization: 'Bearer secret-token', 'X-Team': 'core' },
      },
      local: {
        type: 'stdio',
        command: './bin/server',
        args: ['--root', '/srv/data/files'],
        env: { API_KEY: 'k-123', EMPTY: '' },
      },
    });
  });

  it('does not read process.env implicitly', async () => {
    const dir = await fixture({
      ...PROMPT,
      'mcp.json': { mcpServers: { s: { type: 'stdio', command: 'x', env: { P: '${PATH}' } } } },
    });

    const error = await loadError(dir, {});

    expect(error.issues).toEqual([
      {
        file: 'mcp.json',
        path: 'mcpServers.s.env.P',
        message: 'environment variable PATH is not set (referenced as ${PATH})',
      },
    ]);
  });

  describe('reports', () => {
    it('a missing directory', async () => {
      const dir = path.join(await fixture(PROMPT), 'nope');

      const error = await loadError(dir);

      expect(error.name).toBe('AgentConfigError');
      expect(error.dir).toBe(dir);
      expect(error.message).toBe(
        `Invalid agent configuration in ${dir} (1 problem):\n  - ${dir}: the configuration directory does not exist`,
      );
    });

    it('a missing system_prompt.md', async () => {
      const dir = await fixture({ 'policy.json': {} });

      const error = await loadError(dir);

      expect(error.message).toContain(
        "system_prompt.md: required file is missing: it holds the agent's system prompt",
      );
    });

    it('an empty system prompt', async () => {
      const dir = await fixture({ 'system_prompt.md': ' \n\n\t\n' });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        {
          file: 'system_prompt.md',
          path: '',
          message: "expected the agent's system prompt, but the file is empty",
        },
      ]);
    });

    it('agents.json that is not valid JSON, with the parse error', async () => {
      const dir = await fixture({ ...PROMPT, 'agents.json': '{ "a": { "description": "x", } }' });

      const error = await loadError(dir);

      expect(error.issues).toHaveLength(1);
      expect(error.message).toMatch(/ {2}- agents\.json: not valid JSON: .*(JSON|property|token)/);
    });

    it('a field of the wrong type', async () => {
      const dir = await fixture({
        ...PROMPT,
        'agents.json': { helper: { description: 42, prompt_file: 'p.md', tools: 'Read' } },
        'p.md': 'prompt',
      });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        {
          file: 'agents.json',
          path: 'agents.helper.description',
          message: 'expected a string, got the number 42',
        },
        {
          file: 'agents.json',
          path: 'agents.helper.tools',
          message: 'expected an array, got the string "Read"',
        },
      ]);
      expect(error.message).toContain(
        'agents.json at agents.helper.description: expected a string, got the number 42',
      );
    });

    it('a missing required field', async () => {
      const dir = await fixture({ ...PROMPT, 'agents.json': { helper: { prompt_file: 'p.md' } } });

      const error = await loadError(dir);

      expect(error.message).toContain(
        'agents.json at agents.helper.description: required field is missing (expected a string)',
      );
    });

    it('an unknown field, naming the allowed ones', async () => {
      const dir = await fixture({
        ...PROMPT,
        'agents.json': { helper: { descripton: 'typo', description: 'x', prompt_file: 'p.md' } },
        'p.md': 'prompt',
      });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        {
          file: 'agents.json',
          path: 'agents.helper.descripton',
          message: 'unknown field (allowed: description, prompt_file, tools, model)',
        },
      ]);
    });

    it('a prompt_file that does not exist', async () => {
      const dir = await fixture({
        ...PROMPT,
        'agents.json': { 'aws-support': { description: 'AWS.', prompt_file: 'agents/aws.md' } },
      });

      const error = await loadError(dir);

      expect(error.message).toContain(
        'agents.json at agents.aws-support.prompt_file: file "agents/aws.md" does not exist',
      );
    });

    it('a prompt_file outside the directory, by .., absolute path or symbolic link', async () => {
      const dir = await fixture({
        ...PROMPT,
        'agents.json': {
          dots: { description: 'x', prompt_file: '../secret.md' },
          absolute: { description: 'x', prompt_file: '/etc/hostname' },
          linked: { description: 'x', prompt_file: 'link.md' },
        },
      });
      await writeFile(path.join(dir, '..', 'secret.md'), 'outside');
      await symlink(path.join(dir, '..', 'secret.md'), path.join(dir, 'link.md'));

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        {
          file: 'agents.json',
          path: 'agents.dots.prompt_file',
          message: '"../secret.md" points outside the configuration directory',
        },
        {
          file: 'agents.json',
          path: 'agents.absolute.prompt_file',
          message: 'expected a path relative to the configuration directory, got "/etc/hostname"',
        },
        {
          file: 'agents.json',
          path: 'agents.linked.prompt_file',
          message: '"link.md" is a link to a file outside the configuration directory',
        },
      ]);
    });

    it('an empty prompt file', async () => {
      const dir = await fixture({
        ...PROMPT,
        'agents.json': { helper: { description: 'x', prompt_file: 'p.md' } },
        'p.md': '\n',
      });

      const error = await loadError(dir);

      expect(error.message).toContain(
        `agents.json at agents.helper.prompt_file: expected "p.md" to hold the subagent's prompt, but it is empty`,
      );
    });

    it('an invalid subagent name', async () => {
      const dir = await fixture({
        ...PROMPT,
        'agents.json': { AWS_Support: { description: 'x', prompt_file: 'p.md' } },
        'p.md': 'prompt',
      });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        {
          file: 'agents.json',
          path: 'agents.AWS_Support',
          message:
            'subagent names use lowercase letters, digits and single hyphens (like aws-support), at most 64 characters',
        },
      ]);
    });

    it('an unknown model alias', async () => {
      const dir = await fixture({
        ...PROMPT,
        'agents.json': { helper: { description: 'x', prompt_file: 'p.md', model: 'hiaku' } },
        'p.md': 'prompt',
      });

      const error = await loadError(dir);

      expect(error.message).toContain(
        'agents.json at agents.helper.model: expected one of sonnet, opus, haiku, inherit or a full model id',
      );
    });

    it('an unknown MCP server type', async () => {
      const dir = await fixture({
        ...PROMPT,
        'mcp.json': { mcpServers: { old: { type: 'websocket', url: 'wss://example.com' } } },
      });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        {
          file: 'mcp.json',
          path: 'mcpServers.old.type',
          message: 'expected "type" to be "http" or "stdio"',
        },
      ]);
    });

    it('an http server with an invalid url', async () => {
      const dir = await fixture({
        ...PROMPT,
        'mcp.json': {
          mcpServers: {
            relative: { type: 'http', url: 'knowledge-mcp.global.api.aws' },
            ftp: { type: 'http', url: 'ftp://example.com/mcp' },
          },
        },
      });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        {
          file: 'mcp.json',
          path: 'mcpServers.relative.url',
          message: 'expected an http:// or https:// URL, got "knowledge-mcp.global.api.aws"',
        },
        {
          file: 'mcp.json',
          path: 'mcpServers.ftp.url',
          message: 'expected an http:// or https:// URL, got "ftp://example.com/mcp"',
        },
      ]);
    });

    it("an unknown top-level field of mcp.json, without hiding the servers' problems", async () => {
      const dir = await fixture({
        ...PROMPT,
        'mcp.json': { servers: {}, mcpServers: { s: { type: 'stdio', command: '${BIN}' } } },
      });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        { file: 'mcp.json', path: 'servers', message: 'unknown field (allowed: mcpServers)' },
        {
          file: 'mcp.json',
          path: 'mcpServers.s.command',
          message: 'environment variable BIN is not set (referenced as ${BIN})',
        },
      ]);
    });

    it('a stdio server without a command', async () => {
      const dir = await fixture({
        ...PROMPT,
        'mcp.json': { mcpServers: { local: { type: 'stdio', args: ['serve'] } } },
      });

      const error = await loadError(dir);

      expect(error.message).toContain(
        'mcp.json at mcpServers.local.command: required field is missing (expected a string)',
      );
    });

    it('an unresolved ${VAR}, naming the file, server, field and variable', async () => {
      const dir = await fixture({
        ...PROMPT,
        'mcp.json': {
          mcpServers: {
            docs: {
              type: 'http',
              url: 'https://docs.example.com/mcp',
              headers: { Authorization: 'Bearer ${DOCS_TOKEN}' },
            },
            tool: { type: 'stdio', command: '${TOOL_BIN}', args: ['${A}', '${B}'] },
          },
        },
      });

      const error = await loadError(dir, { A: 'set' });

      expect(error.issues).toEqual([
        {
          file: 'mcp.json',
          path: 'mcpServers.docs.headers.Authorization',
          message: 'environment variable DOCS_TOKEN is not set (referenced as ${DOCS_TOKEN})',
        },
        {
          file: 'mcp.json',
          path: 'mcpServers.tool.command',
          message: 'environment variable TOOL_BIN is not set (referenced as ${TOOL_BIN})',
        },
        {
          file: 'mcp.json',
          path: 'mcpServers.tool.args[1]',
          message: 'environment variable B is not set (referenced as ${B})',
        },
      ]);
      expect(error.message).toContain(
        'mcp.json at mcpServers.docs.headers.Authorization: environment variable DOCS_TOKEN is not set',
      );
    });

    it('a SKILL.md without frontmatter', async () => {
      const dir = await fixture({ ...PROMPT, 'skills/greeter/SKILL.md': '# Greeter\n\nSay hi.\n' });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        {
          file: 'skills/greeter/SKILL.md',
          path: 'skills.greeter',
          message:
            'expected the file to start with a "---" frontmatter block; a SKILL.md starts with frontmatter holding at least name and description',
        },
      ]);
    });

    it('a SKILL.md without a description', async () => {
      const dir = await fixture({
        ...PROMPT,
        'skills/greeter/SKILL.md': '---\nname: greeter\n---\nSay hi.\n',
      });

      const error = await loadError(dir);

      expect(error.message).toContain(
        'skills/greeter/SKILL.md at skills.greeter.description: required field is missing (expected a string)',
      );
    });

    it('a SKILL.md whose name differs from its directory', async () => {
      const dir = await fixture({
        ...PROMPT,
        'skills/greeter/SKILL.md': '---\nname: greeting\ndescription: Says hi.\n---\nSay hi.\n',
      });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        {
          file: 'skills/greeter/SKILL.md',
          path: 'skills.greeter.name',
          message: 'expected the name to equal the directory name "greeter", got "greeting"',
        },
      ]);
    });

    it('a skill directory without SKILL.md', async () => {
      const dir = await fixture({ ...PROMPT, 'skills/empty/notes.txt': 'nothing' });

      const error = await loadError(dir);

      expect(error.message).toContain(
        'skills/empty/SKILL.md at skills.empty: expected a SKILL.md in every skill directory; it is missing',
      );
    });

    it('an invalid maxTurns in policy.json', async () => {
      const dir = await fixture({ ...PROMPT, 'policy.json': { maxTurns: 0 } });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        { file: 'policy.json', path: 'policy.maxTurns', message: 'expected a positive integer' },
      ]);
    });

    it('maxTurns of the wrong type, and unknown policy fields', async () => {
      const dir = await fixture({ ...PROMPT, 'policy.json': { maxTurns: '5', maxTurn: 5 } });

      const error = await loadError(dir);

      expect(error.issues).toEqual([
        {
          file: 'policy.json',
          path: 'policy.maxTurns',
          message: 'expected a number, got the string "5"',
        },
        {
          file: 'policy.json',
          path: 'policy.maxTurn',
          message:
            'unknown field (allowed: maxTurns, maxBudgetUsdPerTurn, maxBudgetUsdPerConversationPerDay, mcpConnectTimeoutMs, tools)',
        },
      ]);
    });

    it('every problem at once, in a stable order', async () => {
      const dir = await fixture({
        'agents.json': {
          Bad: { description: 'x', prompt_file: 'p.md' },
          good: { description: 'x', prompt_file: 'missing.md' },
        },
        'mcp.json': {
          mcpServers: { broken: { type: 'sse' }, s: { type: 'http', url: '${URL}' } },
        },
        'skills/a/SKILL.md': 'no frontmatter',
        'policy.json': { maxTurns: -1 },
      });

      const error = await loadError(dir);

      expect(error.issues.map((issue) => `${issue.file} ${issue.path}`)).toEqual([
        'system_prompt.md ',
        'agents.json agents.Bad',
        'agents.json agents.good.prompt_file',
        'mcp.json mcpServers.broken.type',
        'mcp.json mcpServers.s.url',
        'skills/a/SKILL.md skills.a',
        'policy.json policy.maxTurns',
      ]);
      expect(error.message).toMatch(/^Invalid agent configuration in .* \(7 problems\):\n/);
    });
  });
});
