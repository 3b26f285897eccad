import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bubblewrapArgs,
  claudeCodeSpawner,
  detectProcessSandbox,
  programMounts,
} from './process-sandbox.js';

describe('bubblewrapArgs', () => {
  const args = bubblewrapArgs(
    {
      readWrite: ['/data/workspaces/a', '/tmp/turn-1'],
      readOnly: ['/srv/agent', '/tmp/turn-1'],
    },
    '/data/workspaces/a',
  );
  const mountOrder = (flag: string) =>
    args.flatMap((arg, index) => (arg === flag ? [args[index + 1]] : []));

  it('is killed with its parent, in its own session, pid namespace and /proc', () => {
    expect(args).toEqual(
      expect.arrayContaining(['--die-with-parent', '--new-session', '--unshare-pid']),
    );
    expect(args.join(' ')).toContain('--proc /proc');
    // Claude Code's shell sandbox makes user namespaces inside this one; the network is the host's.
    expect(args).not.toContain('--unshare-user');
    expect(args).not.toContain('--unshare-net');
    expect(args.slice(-3)).toEqual(['--chdir', '/data/workspaces/a', '--']);
  });

  it('mounts only the system, the turn directories and the read-only roots', () => {
    const mounted = [...mountOrder('--ro-bind-try'), ...mountOrder('--bind')];
    expect(mounted).toContain('/usr');
    expect(mounted).toContain('/etc/resolv.conf');
    expect(mounted).not.toContain('/etc');
    expect(mounted).not.toContain('/data');
    expect(mounted).not.toContain('/home');
    expect(mountOrder('--bind').sort()).toEqual(['/data/workspaces/a', '/tmp/turn-1']);
  });

  it('mounts parents before children, and a writable mount after a read-only one at the same path', () => {
    const at = (flag: string, dir: string) =>
      args.findIndex((arg, index) => arg === flag && args[index + 1] === dir);
    expect(at('--tmpfs', '/tmp')).toBeLessThan(at('--bind', '/tmp/turn-1'));
    expect(at('--ro-bind-try', '/tmp/turn-1')).toBeLessThan(at('--bind', '/tmp/turn-1'));
  });
});

describe('programMounts', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'program-mounts-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("mounts Claude Code's directory and each stdio server's files, packages and package.json, not their neighbours", async () => {
    await mkdir(path.join(root, 'project', 'node_modules', 'loader'), { recursive: true });
    await mkdir(path.join(root, 'project', 'tools'), { recursive: true });
    await writeFile(path.join(root, 'project', 'package.json'), '{"type":"module"}');
    await writeFile(path.join(root, 'project', '.env'), 'SECRET=1');
    await writeFile(path.join(root, 'project', 'tools', 'server.ts'), '');
    await writeFile(path.join(root, 'project', 'node_modules', 'loader', 'index.mjs'), '');

    const mounts = programMounts('/opt/claude/bin/claude', ['--print'], {
      local: {
        type: 'stdio',
        command: '/usr/bin/node',
        args: [
          `--import=${pathToFileURL(path.join(root, 'project', 'node_modules', 'loader', 'index.mjs'))}`,
          path.join(root, 'project', 'tools', 'server.ts'),
          'relative-arg',
          '/does/not/exist',
        ],
      },
      remote: { type: 'http', url: 'https://example.com/mcp' },
    });

    expect(mounts).toEqual(
      expect.arrayContaining([
        '/opt/claude/bin',
        '/usr/bin/node',
        path.join(root, 'project', 'tools', 'server.ts'),
        path.join(root, 'project', 'node_modules'),
        path.join(root, 'project', 'package.json'),
      ]),
    );
    expect(mounts).not.toContain(path.join(root, 'project'));
    expect(mounts).not.toContain(path.join(root, 'project', 'tools'));
    expect(mounts).not.toContain('/does/not/exist');
  });
});

describe('detectProcessSandbox', () => {
  it('has nothing to offer off Linux', async () => {
    expect(await detectProcessSandbox({ PATH: '/usr/bin' }, 'win32')).toMatchObject({
      kind: 'none',
    });
  });

  it('says why when neither bubblewrap nor setpriv is on the PATH', async () => {
    const sandbox = await detectProcessSandbox({ PATH: '/nonexistent' }, 'linux');
    expect(sandbox).toEqual({
      kind: 'none',
      reason: expect.stringMatching(/bwrap.*not found.*setpriv/),
    });
  });
});

describe('claudeCodeSpawner', () => {
  it('reports exit only after the output is read to the end', async () => {
    const spawnProcess = claudeCodeSpawner(
      { kind: 'none', reason: 'test' },
      { readWrite: [], readOnly: [] },
    );
    const child = spawnProcess({
      command: '/bin/sh',
      args: ['-c', 'head -c 200000 /dev/zero | tr "\\0" x; echo; echo oops >&2'],
      env: { PATH: '/usr/bin:/bin' },
      signal: new AbortController().signal,
    });
    let received = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const code = await new Promise((resolve) =>
      child.once('exit', (exitCode) => resolve(exitCode)),
    );
    expect(code).toBe(0);
    expect(received).toBe(200_001);
  });
});
