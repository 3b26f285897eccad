import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentPolicy, defaultPolicy } from '../../config/agent-config.js';
import { type ToolDecision, ToolPolicy, type ToolScope } from './tool-policy.js';
import { checkPattern } from './tool-policy-paths.js';
import { isPrivateAddress } from './tool-policy-web.js';

let root: string;
let scope: ToolScope;
let workspace: string;
let skills: string;
let outside: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tool-policy-'));
  workspace = path.join(root, 'workspaces', 'tenant', 'chat-1');
  skills = path.join(root, 'agent', 'skills');
  outside = path.join(root, 'secret.txt');
  await mkdir(workspace, { recursive: true });
  await mkdir(path.join(skills, 'hello'), { recursive: true });
  await mkdir(path.join(root, 'workspaces', 'tenant', 'chat-10'), { recursive: true });
  await writeFile(path.join(workspace, 'notes.txt'), 'notes');
  await writeFile(path.join(skills, 'hello', 'SKILL.md'), 'skill');
  await writeFile(outside, 'secret');
  await symlink(outside, path.join(workspace, 'link-to-secret'));
  await symlink(root, path.join(workspace, 'link-to-root'));
  await symlink(path.join(root, 'missing'), path.join(workspace, 'dangling'));
  await symlink(path.join(workspace, 'notes.txt'), path.join(workspace, 'link-inside'));
  scope = { workspace, readOnly: [skills] };
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function policyWith(tools: Partial<AgentPolicy['tools']> = {}): ToolPolicy {
  const base = defaultPolicy();
  return new ToolPolicy(
    { ...base, tools: { ...base.tools, ...tools } },
    { lookup: async (host) => LOOKUP[host] ?? Promise.reject(new Error('ENOTFOUND')) },
  );
}

const LOOKUP: Record<string, string[]> = {
  'example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'docs.aws.amazon.com': ['54.230.1.1'],
  'rebind.example.net': ['10.0.0.5'],
  'metadata.example.net': ['169.254.169.254'],
};

const allowed: ToolDecision = { allow: true };
const denied = (pattern: RegExp) => ({
  allow: false,
  reason: expect.stringMatching(pattern),
});

describe('ToolPolicy file tools', () => {
  const policy = policyWith();
  const read = (file: string) => policy.evaluate('Read', { file_path: file }, scope);
  const write = (file: string) =>
    policy.evaluate('Write', { file_path: file, content: 'x' }, scope);

  it('allows files inside the working directory, relative or absolute', async () => {
    expect(await read('notes.txt')).toEqual(allowed);
    expect(await read(path.join(workspace, 'notes.txt'))).toEqual(allowed);
    expect(await read('./sub/../notes.txt'.replace('/sub/..', ''))).toEqual(allowed);
    expect(await write('new/dir/file.md')).toEqual(allowed);
    expect(await read('link-inside')).toEqual(allowed);
    expect(
      await policy.evaluate(
        'Edit',
        { file_path: 'notes.txt', old_string: 'a', new_string: 'b' },
        scope,
      ),
    ).toEqual(allowed);
  });

  it('denies paths outside the working directory, with the reason', async () => {
    expect(await read(outside)).toEqual(
      denied(
        /^Denied by the agent's tool policy: ".*secret\.txt" is outside the conversation's working directory \(.*chat-1\)/,
      ),
    );
    expect(await read('/etc/passwd')).toEqual(
      denied(/is outside the conversation's working directory/),
    );
    expect(await read('/proc/self/environ')).toEqual(denied(/is outside/));
    expect(await read(`/proc/${process.pid}/environ`)).toEqual(denied(/is outside/));
    // Another conversation, even one whose name starts the same.
    expect(await read(path.join(root, 'workspaces', 'tenant', 'chat-10', 'x'))).toEqual(
      denied(/is outside/),
    );
    expect(await write('/tmp/escape.txt')).toEqual(denied(/is outside/));
  });

  it('denies .. and ~ however they are spelt', async () => {
    expect(await read('../chat-10/x')).toEqual(denied(/paths with "\.\." are not allowed/));
    expect(await read('sub/../../../secret.txt')).toEqual(denied(/paths with "\.\."/));
    expect(await read('sub/../notes.txt')).toEqual(denied(/paths with "\.\."/));
    expect(await read(`${workspace}/../chat-10`)).toEqual(denied(/paths with "\.\."/));
    expect(await read('~/.aws/credentials')).toEqual(denied(/"~" paths are not allowed/));
  });

  it('denies symbolic links that lead out, and links to nothing', async () => {
    expect(await read('link-to-secret')).toEqual(
      denied(/leads outside .* through a symbolic link/),
    );
    expect(await read('link-to-root/secret.txt')).toEqual(denied(/through a symbolic link/));
    expect(await write('link-to-root/planted.txt')).toEqual(denied(/through a symbolic link/));
    expect(await write('dangling')).toEqual(
      denied(/symbolic link to something that does not exist/),
    );
  });

  it('lets the skills be read but not written', async () => {
    const skill = path.join(skills, 'hello', 'SKILL.md');
    expect(await read(skill)).toEqual(allowed);
    expect(await write(skill)).toEqual(denied(/is in a read-only directory/));
  });

  it('confines Glob and Grep to the working directory', async () => {
    const glob = (input: Record<string, unknown>) => policy.evaluate('Glob', input, scope);
    expect(await glob({ pattern: '**/*.md' })).toEqual(allowed);
    expect(
      await glob({ pattern: '*', path: path.join(root, 'workspaces', 'tenant', 'chat-10') }),
    ).toEqual(denied(/is outside/));
    expect(await glob({ pattern: '/etc/*' })).toEqual(
      denied(/reaches outside the search directory/),
    );
    expect(await glob({ pattern: '../**' })).toEqual(denied(/reaches outside/));
    expect(await policy.evaluate('Grep', { pattern: 'TOKEN', path: '/work' }, scope)).toEqual(
      denied(/is outside/),
    );
    expect(await policy.evaluate('Grep', { pattern: 'TOKEN', glob: '{a,../b}' }, scope)).toEqual(
      denied(/reaches outside/),
    );
  });

  it('denies writes when files are read-only, and everything when they are off', async () => {
    const readOnly = policyWith({ files: 'read-only' });
    expect(await readOnly.evaluate('Read', { file_path: 'notes.txt' }, scope)).toEqual(allowed);
    expect(await readOnly.evaluate('Write', { file_path: 'a.txt' }, scope)).toEqual(
      denied(/writing files is turned off/),
    );
    const off = policyWith({ files: 'off' });
    expect(await off.evaluate('Glob', { pattern: '*' }, scope)).toEqual(
      denied(/file tools are turned off/),
    );
  });

  it('denies a call without a path', async () => {
    expect(await policy.evaluate('Read', {}, scope)).toEqual(denied(/expected a file path/));
  });
});

describe('ToolPolicy shell, web and other tools', () => {
  it('offers only the tools the policy enables', () => {
    expect(policyWith().builtInTools({ skills: true })).toEqual([
      'Agent',
      'ToolSearch',
      'Skill',
      'Read',
      'Glob',
      'Grep',
      'Write',
      'Edit',
      'NotebookEdit',
      'WebFetch',
      'WebSearch',
    ]);
    const shell = {
      enabled: true,
      allowedDomains: [],
      acknowledgeUnsandboxed: false,
      sandboxed: true,
    };
    expect(
      policyWith({ files: 'off', shell, web: { fetch: false, search: false } }).builtInTools({
        skills: false,
      }),
    ).toEqual(['Agent', 'ToolSearch', 'Bash']);
  });

  it('denies the shell unless enabled, and leaving the sandbox always', async () => {
    expect(await policyWith().evaluate('Bash', { command: 'env' }, scope)).toEqual(
      denied(/the shell is turned off/),
    );
    const shell = policyWith({
      shell: { enabled: true, allowedDomains: [], acknowledgeUnsandboxed: false, sandboxed: true },
    });
    expect(await shell.evaluate('Bash', { command: 'ls' }, scope)).toEqual(allowed);
    expect(
      await shell.evaluate('Bash', { command: 'ls', dangerouslyDisableSandbox: true }, scope),
    ).toEqual(denied(/cannot leave the sandbox/));
  });

  it('fetches public sites only', async () => {
    const policy = policyWith();
    const fetch = (url: string) => policy.evaluate('WebFetch', { url, prompt: 'read' }, scope);
    expect(await fetch('https://example.com/page')).toEqual(allowed);
    for (const url of [
      'http://127.0.0.1:8080/t/token/v1/messages',
      'http://localhost/',
      'http://[::1]/',
      'http://169.254.169.254/latest/meta-data/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://[::ffff:127.0.0.1]/',
      // Loopback inside IPv6 transition forms: IPv4-compatible, 6to4, NAT64 local-use, SIIT, Teredo.
      'http://[::127.0.0.1]/',
      'http://[2002:7f00:1::]/',
      'http://[64:ff9b:1::7f00:1]/',
      'http://[::ffff:0:7f00:1]/',
      'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/',
      // Decimal, octal and hex spellings of 127.0.0.1 and 10.0.0.1.
      'http://017700000001/',
      'http://0177.0.0.1/',
      'http://167772161/',
      'http://0xa.0.0.1/',
      'http://printer.local/',
      'http://rebind.example.net/',
      'http://metadata.example.net/',
    ]) {
      expect(await fetch(url), url).toEqual(denied(/local or private address/));
    }
    expect(await fetch('file:///etc/passwd')).toEqual(denied(/only http and https/));
    expect(await fetch('https://unknown.example.org/')).toEqual(denied(/could not be resolved/));
  });

  it('keeps fetches to the allowed domains when a list is set, and can turn web tools off', async () => {
    const listed = policyWith({
      web: { fetch: true, search: true, allowedDomains: ['*.amazon.com'] },
    });
    expect(
      await listed.evaluate('WebFetch', { url: 'https://docs.aws.amazon.com/x' }, scope),
    ).toEqual(allowed);
    expect(await listed.evaluate('WebFetch', { url: 'https://example.com/' }, scope)).toEqual(
      denied(/not among the sites this agent may fetch \(\*\.amazon\.com\)/),
    );
    const off = policyWith({ web: { fetch: false, search: false } });
    expect(await off.evaluate('WebFetch', { url: 'https://example.com/' }, scope)).toEqual(
      denied(/fetching web pages is turned off/),
    );
    expect(await off.evaluate('WebSearch', { query: 'x' }, scope)).toEqual(
      denied(/web search is turned off/),
    );
  });

  it('allows subagents, skills and MCP tools, and denies tools it does not know', async () => {
    const policy = policyWith();
    expect(await policy.evaluate('Agent', { prompt: 'x' }, scope)).toEqual(allowed);
    expect(await policy.evaluate('Skill', { skill: 'agent:hello-world' }, scope)).toEqual(allowed);
    expect(await policy.evaluate('mcp__docs__search', { q: 'x' }, scope)).toEqual(allowed);
    expect(await policy.evaluate('CronCreate', {}, scope)).toEqual(
      denied(/CronCreate is not enabled by this agent's tool policy/),
    );
  });
});

describe('ToolPolicy.queryOptions', () => {
  const options = () =>
    policyWith().queryOptions({ scope, configDir: path.join(root, 'config'), skills: true });

  async function askHook(toolName: string, toolInput: unknown, transcriptPath: string) {
    const hook = options().hooks?.PreToolUse?.[0]?.hooks[0];
    if (!hook) throw new Error('no PreToolUse hook');
    const output = await hook(
      {
        hook_event_name: 'PreToolUse',
        session_id: 's1',
        transcript_path: transcriptPath,
        cwd: workspace,
        tool_name: toolName,
        tool_input: toolInput,
        tool_use_id: 'toolu_1',
      },
      'toolu_1',
      { signal: new AbortController().signal },
    );
    return 'hookSpecificOutput' in output ? output.hookSpecificOutput : undefined;
  }

  it('answers every call from a PreToolUse hook, with the reason for a denial', async () => {
    const transcript = path.join(root, 'config', 'projects', 'key', 's1.jsonl');
    expect(await askHook('Read', { file_path: 'notes.txt' }, transcript)).toEqual({
      hookEventName: 'PreToolUse',
      permissionDecision: 'allow',
    });
    expect(await askHook('Read', { file_path: outside }, transcript)).toEqual({
      hookEventName: 'PreToolUse',
      permissionDecision: 'deny',
      permissionDecisionReason: expect.stringMatching(/secret\.txt" is outside/),
    });
  });

  it("lets the model read the session's saved tool results, and nothing else of the session", async () => {
    const transcript = path.join(root, 'config', 'projects', 'key', 's1.jsonl');
    const saved = path.join(root, 'config', 'projects', 'key', 's1', 'tool-results', 'big.txt');
    expect(await askHook('Read', { file_path: saved }, transcript)).toMatchObject({
      permissionDecision: 'allow',
    });
    expect(await askHook('Write', { file_path: saved, content: 'x' }, transcript)).toMatchObject({
      permissionDecision: 'deny',
    });
    for (const other of [
      transcript,
      path.join(root, 'config', 'projects', 'key', 's2', 'tool-results', 'x.txt'),
    ]) {
      expect(await askHook('Read', { file_path: other }, transcript), other).toMatchObject({
        permissionDecision: 'deny',
      });
    }
  });

  it('sandboxes the shell when it is on, with reads limited and the gateway URL hidden', () => {
    const base = defaultPolicy();
    const shell = new ToolPolicy({
      ...base,
      tools: {
        ...base.tools,
        shell: {
          enabled: true,
          allowedDomains: ['pypi.org'],
          acknowledgeUnsandboxed: false,
          sandboxed: true,
        },
      },
    }).queryOptions({ scope, configDir: '/tmp/turn', skills: false });
    expect(shell.tools).toContain('Bash');
    expect(shell.permissionMode).toBe('default');
    expect(shell.sandbox).toMatchObject({
      enabled: true,
      failIfUnavailable: true,
      allowUnsandboxedCommands: false,
      network: { allowedDomains: ['pypi.org'] },
      filesystem: {
        denyRead: ['/'],
        allowRead: expect.arrayContaining([workspace, skills, '/tmp/turn', '/usr']),
      },
      credentials: {
        envVars: expect.arrayContaining([{ name: 'ANTHROPIC_BASE_URL', mode: 'deny' }]),
      },
    });
    expect(options().sandbox).toBeUndefined();
  });

  it("lets the shell's sandbox nest in the process sandbox, and only there", () => {
    const base = defaultPolicy();
    const policy = new ToolPolicy({
      ...base,
      tools: {
        ...base.tools,
        shell: {
          enabled: true,
          allowedDomains: [],
          acknowledgeUnsandboxed: false,
          sandboxed: true,
        },
      },
    });
    const turn = { scope, configDir: '/tmp/turn', skills: false };
    // The kernel refuses a fresh /proc inside bubblewrap's; the outer one shows the turn's processes only.
    expect(policy.queryOptions({ ...turn, insideSandbox: true }).sandbox).toMatchObject({
      enableWeakerNestedSandbox: true,
    });
    expect(policy.queryOptions(turn).sandbox).not.toHaveProperty('enableWeakerNestedSandbox');
  });
});

describe('helpers', () => {
  it('recognises private addresses', () => {
    expect(isPrivateAddress('8.8.8.8')).toBe(false);
    expect(isPrivateAddress('2001:4860:4860::8888')).toBe(false);
    // 6to4 and Teredo of public addresses are judged by the address they carry.
    expect(isPrivateAddress('2002:808:808::1')).toBe(false);
    for (const address of [
      '::127.0.0.1',
      '::7f00:1',
      '2002:7f00:1::',
      '2002:a00:1::1',
      '64:ff9b:1::7f00:1',
      '64:ff9b::8.8.8.8',
      '::ffff:0:a00:1',
      '2001:0:7f00:1::1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '100.64.0.1',
      'fd00::1',
      'fe80::1',
      '::',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
  });

  it('accepts relative glob patterns only', () => {
    expect(checkPattern('src/**/*.ts')).toEqual({ ok: true });
    expect(checkPattern('..foo/*')).toEqual({ ok: true });
    expect(checkPattern('{/etc,x}/*').ok).toBe(false);
    expect(checkPattern('~/x').ok).toBe(false);
  });
});
