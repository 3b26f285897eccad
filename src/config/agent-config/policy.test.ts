import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { AgentConfigError, loadAgentConfig } from '../agent-config.js';
import { IssueSink } from './issues.js';
import { defaultPolicy, loadPolicy, POLICY_FILE } from './policy.js';
import { detectShellSandbox, type ShellSandbox } from './shell-sandbox.js';

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function agentDir(policy?: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'policy-test-'));
  dirs.push(dir);
  await writeFile(path.join(dir, 'system_prompt.md'), 'You are helpful.');
  if (policy !== undefined) await writeFile(path.join(dir, POLICY_FILE), JSON.stringify(policy));
  return dir;
}

const available = async (): Promise<ShellSandbox> => ({ available: true, kind: 'bubblewrap' });
const unavailable = async (): Promise<ShellSandbox> => ({
  available: false,
  reason: 'not found on the PATH: bwrap (bubblewrap)',
});

async function load(policy: unknown, detectSandbox = available) {
  const sink = new IssueSink();
  const loaded = await loadPolicy(await agentDir(policy), {}, sink, { detectSandbox });
  return { policy: loaded, issues: sink.issues };
}

describe('policy.json', () => {
  it('defaults to a safe policy: files in the working directory, no shell, budgets set', async () => {
    const { policy, issues } = await load(undefined);
    expect(issues).toEqual([]);
    expect(policy).toEqual({
      maxTurns: 20,
      maxBudgetUsdPerTurn: 1,
      maxBudgetUsdPerConversationPerDay: 10,
      mcpConnectTimeoutMs: 10_000,
      tools: {
        files: 'read-write',
        shell: {
          enabled: false,
          allowedDomains: [],
          acknowledgeUnsandboxed: false,
          sandboxed: false,
        },
        web: { fetch: true, search: true },
      },
    });
    expect(defaultPolicy()).toEqual(policy);
  });

  it('reads every setting, keeping defaults for what is left out', async () => {
    const { policy, issues } = await load({
      maxTurns: 5,
      maxBudgetUsdPerTurn: 0.25,
      maxBudgetUsdPerConversationPerDay: 2,
      mcpConnectTimeoutMs: 2_000,
      tools: {
        files: 'read-only',
        shell: { enabled: true, allowedDomains: ['registry.npmjs.org', '*.pypi.org'] },
        web: { search: false, allowedDomains: ['docs.aws.amazon.com'] },
      },
    });
    expect(issues).toEqual([]);
    expect(policy).toEqual({
      maxTurns: 5,
      maxBudgetUsdPerTurn: 0.25,
      maxBudgetUsdPerConversationPerDay: 2,
      mcpConnectTimeoutMs: 2_000,
      tools: {
        files: 'read-only',
        shell: {
          enabled: true,
          allowedDomains: ['registry.npmjs.org', '*.pypi.org'],
          acknowledgeUnsandboxed: false,
          sandboxed: true,
        },
        web: { fetch: true, search: false, allowedDomains: ['docs.aws.amazon.com'] },
      },
    });
  });

  it('reports invalid values and unknown fields by path', async () => {
    const { issues } = await load({
      maxBudgetUsdPerTurn: 0,
      maxBudgetUsdPerConversationPerDay: '5',
      mcpConnectTimeoutMs: 10,
      tools: {
        files: 'everywhere',
        shell: { enabled: 'yes', allowedDomains: ['https://example.com/x'] },
        web: { fetch: true, serach: false },
      },
    });
    expect(issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      'policy.maxBudgetUsdPerTurn: expected a positive amount in US dollars',
      'policy.maxBudgetUsdPerConversationPerDay: expected a number, got the string "5"',
      'policy.mcpConnectTimeoutMs: expected at least 100 milliseconds',
      'policy.tools.files: expected "off", "read-only" or "read-write"',
      'policy.tools.shell.enabled: expected true or false, got the string "yes"',
      'policy.tools.shell.allowedDomains[0]: expected a domain such as example.com or *.example.com (lowercase, no scheme, port or path)',
      'policy.tools.web.serach: unknown field (allowed: fetch, search, allowedDomains, otherHosts)',
    ]);
  });

  it('does not look for a sandbox while the shell is off', async () => {
    const detect = vi.fn(unavailable);
    const { issues } = await load({ tools: { shell: { enabled: false } } }, detect);
    expect(issues).toEqual([]);
    expect(detect).not.toHaveBeenCalled();
  });

  it('refuses an enabled shell where no sandbox is available', async () => {
    const { policy, issues } = await load({ tools: { shell: { enabled: true } } }, unavailable);
    expect(issues).toEqual([
      {
        file: POLICY_FILE,
        path: 'policy.tools.shell.enabled',
        message: expect.stringMatching(
          /^the shell needs a sandbox and none is available here \(not found on the PATH: bwrap \(bubblewrap\)\)\. .*acknowledgeUnsandboxed/,
        ),
      },
    ]);
    expect(policy.tools.shell.enabled).toBe(false);
  });

  it('runs the shell unsandboxed only when the file acknowledges it', async () => {
    const { policy, issues } = await load(
      { tools: { shell: { enabled: true, acknowledgeUnsandboxed: true } } },
      unavailable,
    );
    expect(issues).toEqual([]);
    expect(policy.tools.shell).toMatchObject({ enabled: true, sandboxed: false });
  });

  it('still uses the sandbox when there is one, acknowledgement or not', async () => {
    const { policy } = await load(
      { tools: { shell: { enabled: true, acknowledgeUnsandboxed: true } } },
      available,
    );
    expect(policy.tools.shell.sandboxed).toBe(true);
  });

  it('stops loadAgentConfig when the shell is on and the PATH has no bubblewrap', async () => {
    const dir = await agentDir({ tools: { shell: { enabled: true } } });
    const error = await loadAgentConfig(dir, { PATH: dir }).catch((caught: unknown) => caught);
    expect(AgentConfigError.isInstance(error)).toBe(true);
    expect((error as AgentConfigError).issues).toEqual([
      expect.objectContaining({ path: 'policy.tools.shell.enabled' }),
    ]);
  });
});

describe('detectShellSandbox', () => {
  it('finds no sandbox where bubblewrap and socat are not on the PATH', async () => {
    expect(await detectShellSandbox({ PATH: '/nonexistent' }, 'linux')).toEqual({
      available: false,
      reason: 'not found on the PATH: bwrap (bubblewrap), socat',
    });
  });

  it('finds no sandbox on a platform Claude Code cannot sandbox', async () => {
    expect(await detectShellSandbox({ PATH: process.env.PATH }, 'win32')).toMatchObject({
      available: false,
    });
  });

  // Where bubblewrap and socat are installed (always in CI: see test/support/global-setup.ts).
  it.runIf(process.platform === 'linux' && inject('shellSandbox'))(
    'finds and tries bubblewrap on this machine',
    async () => {
      expect(await detectShellSandbox({ PATH: process.env.PATH }, 'linux')).toEqual({
        available: true,
        kind: 'bubblewrap',
      });
    },
  );
});
