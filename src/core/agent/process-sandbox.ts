import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SpawnedProcess, SpawnOptions } from '@anthropic-ai/claude-agent-sdk';
import type { ConfiguredMcpServer } from '../../config/agent-config/mcp-servers.js';
import { detectBubblewrap, findExecutable } from '../../config/agent-config/shell-sandbox.js';

/**
 * How Claude Code is started for a turn.
 * - `bubblewrap`: the whole process in a sandbox that mounts only what the
 *   turn needs (see `bubblewrapArgs`), in its own pid namespace, killed with
 *   the service.
 * - `pdeathsig`: no sandbox, but `setpriv --pdeathsig KILL` kills Claude Code
 *   when the service dies.
 * - `none`: started as is; it outlives a killed service until its stdin closes.
 */
export type ProcessSandbox =
  | { kind: 'bubblewrap'; bwrap: string }
  | { kind: 'pdeathsig'; setpriv: string; reason: string }
  | { kind: 'none'; reason: string };

/** Picks the strongest of the three that works on this machine. */
export async function detectProcessSandbox(
  env: { PATH?: string | undefined },
  platform: NodeJS.Platform = process.platform,
): Promise<ProcessSandbox> {
  const bwrap = await detectBubblewrap(env, platform);
  if (bwrap.available) return { kind: 'bubblewrap', bwrap: bwrap.path };
  if (platform !== 'linux') return { kind: 'none', reason: bwrap.reason };
  const setpriv = await findExecutable('setpriv', env.PATH);
  return setpriv
    ? { kind: 'pdeathsig', setpriv, reason: bwrap.reason }
    : { kind: 'none', reason: `${bwrap.reason}; setpriv (util-linux) not found either` };
}

/**
 * System directories Claude Code and the programs it runs need, read-only.
 * Not /home, /root, /opt, /srv, /var, /run, /mnt or the service's own
 * directories: nothing there is for the agent.
 */
const SYSTEM_MOUNTS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64'];

/** The parts of /etc that name resolution, TLS, users and shared libraries read; not the rest. */
const ETC_MOUNTS = [
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/nsswitch.conf',
  '/etc/gai.conf',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/pki',
  '/etc/crypto-policies',
  '/etc/passwd',
  '/etc/group',
  '/etc/localtime',
  '/etc/alternatives',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/os-release',
];

/** What one turn's sandbox mounts besides the system. */
export interface SandboxMounts {
  /** Read-write: the conversation's working directory and the turn's config directory. */
  readWrite: readonly string[];
  /** Read-only: Claude Code itself, the agent directory, the skills plugin, MCP server programs. */
  readOnly: readonly string[];
}

/**
 * bubblewrap's arguments for one turn. A new mount namespace whose root is
 * an empty tmpfs: only the listed directories exist in it, at their own
 * paths (so paths in the transcript and the tool policy stay valid). A new
 * pid namespace with its own /proc, so the service and other turns are
 * invisible. `--die-with-parent` kills it all when the service dies;
 * `--new-session` keeps it off the service's terminal. The network and the
 * user namespace stay shared: the model gateway is on loopback, and Claude
 * Code's own shell sandbox (bubblewrap again) needs to make namespaces
 * inside this one.
 */
export function bubblewrapArgs(mounts: SandboxMounts, cwd: string): string[] {
  type Mount = { flag: string[]; at: string };
  const list: Mount[] = [
    { flag: ['--tmpfs', '/tmp'], at: '/tmp' },
    ...[...SYSTEM_MOUNTS, ...ETC_MOUNTS].map((dir) => ({
      flag: ['--ro-bind-try', dir, dir],
      at: dir,
    })),
    ...mounts.readOnly.map((dir) => ({ flag: ['--ro-bind-try', dir, dir], at: dir })),
    // Last among equals, so a writable directory is not hidden by a read-only one at the same path.
    ...mounts.readWrite.map((dir) => ({ flag: ['--bind', dir, dir], at: dir })),
  ];
  // Parents before children: a later mount hides whatever an earlier one put below it.
  const ordered = list
    .map((mount, index) => ({ mount, index, depth: depth(mount.at) }))
    .sort((a, b) => a.depth - b.depth || a.index - b.index)
    .flatMap(({ mount }) => mount.flag);
  return [
    '--die-with-parent',
    '--new-session',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    ...ordered,
    '--chdir',
    cwd,
    '--',
  ];
}

function depth(dir: string): number {
  return path.resolve(dir).split('/').filter(Boolean).length;
}

/**
 * Read-only mounts for what Claude Code starts itself: the directory of its
 * own executable (and of its script, when it runs on an interpreter), and
 * for each stdio MCP server its program and the absolute paths among its
 * arguments, with the `node_modules` a script there resolves packages from
 * and the `package.json` that tells Node how to load it. Not the
 * directories around them: a script beside the project's `.env` must not
 * bring the `.env` in.
 */
export function programMounts(
  command: string,
  args: readonly string[],
  mcpServers: Record<string, ConfiguredMcpServer> = {},
): string[] {
  const found = new Set<string>();
  if (path.isAbsolute(command)) found.add(path.dirname(command));
  const script = args[0];
  if (script && path.isAbsolute(script) && existsSync(script)) found.add(path.dirname(script));
  for (const server of Object.values(mcpServers)) {
    if (!('command' in server)) continue;
    for (const candidate of [server.command, ...(server.args ?? [])]) {
      const file = absolutePathIn(candidate);
      if (!file || !existsSync(file)) continue;
      found.add(file);
      // Node needs these to load a script: its packages, and the
      // package.json that says whether it is a module.
      const modules = nearestNodeModules(file);
      if (modules) found.add(modules);
      const manifest = nearestPackageJson(file);
      if (manifest) found.add(manifest);
    }
  }
  return [...found];
}

/** An absolute path or file URL in an argument (`/x`, `file:///x`, `--flag=/x`), or null. */
function absolutePathIn(arg: string): string | null {
  const value = arg.startsWith('-') && arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : arg;
  if (value.startsWith('file://')) {
    try {
      return fileURLToPath(value);
    } catch {
      return null;
    }
  }
  return path.isAbsolute(value) ? path.normalize(value) : null;
}

function nearestPackageJson(file: string): string | null {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (path.basename(dir) === 'node_modules') return null;
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

function nearestNodeModules(file: string): string | null {
  let dir = path.dirname(file);
  for (;;) {
    if (path.basename(dir) === 'node_modules') return dir;
    const candidate = path.join(dir, 'node_modules');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

export interface SpawnerOptions {
  /** The conversation's working directory and the turn's config directory. */
  readWrite: readonly string[];
  /** The agent directory, skills plugin and other read-only roots of the turn. */
  readOnly: readonly string[];
  mcpServers?: Record<string, ConfiguredMcpServer> | undefined;
  /** Claude Code's stderr, which the SDK only collects for processes it starts itself. */
  onStderr?: ((data: string) => void) | undefined;
}

/**
 * The SDK's `spawnClaudeCodeProcess` for `sandbox`: starts Claude Code in
 * bubblewrap, under `setpriv --pdeathsig KILL`, or as is. The environment
 * goes through `spawn`, never onto a command line other processes can read.
 */
export function claudeCodeSpawner(
  sandbox: ProcessSandbox,
  options: SpawnerOptions,
): (spawnOptions: SpawnOptions) => SpawnedProcess {
  return ({ command, args, cwd, env, signal }) => {
    const workingDir = cwd ?? process.cwd();
    let file = command;
    let argv = args;
    if (sandbox.kind === 'bubblewrap') {
      // On resume the SDK lays the transcript out in a directory of its own
      // and points CLAUDE_CONFIG_DIR there; Claude Code must see it.
      const configDir = env.CLAUDE_CONFIG_DIR;
      const mounts: SandboxMounts = {
        readWrite: [
          ...options.readWrite,
          ...(configDir && !options.readWrite.includes(configDir) ? [configDir] : []),
        ],
        readOnly: [...options.readOnly, ...programMounts(command, args, options.mcpServers)],
      };
      file = sandbox.bwrap;
      argv = [...bubblewrapArgs(mounts, workingDir), command, ...args];
    } else if (sandbox.kind === 'pdeathsig') {
      file = sandbox.setpriv;
      argv = ['--pdeathsig', 'KILL', '--', command, ...args];
    }
    const child: ChildProcess = spawn(file, argv, {
      cwd: workingDir,
      env,
      signal,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    // Always drained: a full stderr pipe would stall Claude Code.
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (data: string) => options.onStderr?.(data));
    return afterOutput(child);
  };
}

/** How long an exited process's output may stay open (a grandchild holding it) before exit is reported. */
const OUTPUT_GRACE_MS = 2_000;

/**
 * `child` as a SpawnedProcess whose 'exit' comes once its output is read to
 * the end, as the SDK's own spawner does: the last transcript entries
 * arrive on stdout just before Claude Code exits, and an 'exit' seen first
 * ends the SDK's reading and drops them.
 */
function afterOutput(child: ChildProcess): SpawnedProcess {
  const events = new EventEmitter();
  let reported = false;
  let timer: NodeJS.Timeout | undefined;
  const report = () => {
    if (reported) return;
    reported = true;
    clearTimeout(timer);
    events.emit('exit', child.exitCode, child.signalCode);
  };
  child.once('close', report);
  child.once('exit', () => {
    timer = setTimeout(report, OUTPUT_GRACE_MS);
    timer.unref();
  });
  child.on('error', (error) => events.emit('error', error));
  type Listener = (...args: unknown[]) => void;
  return {
    stdin: child.stdin as NonNullable<ChildProcess['stdin']>,
    stdout: child.stdout as NonNullable<ChildProcess['stdout']>,
    get killed() {
      return child.killed;
    },
    get exitCode() {
      return child.exitCode;
    },
    get signalCode() {
      return child.signalCode;
    },
    kill: (signal) => child.kill(signal),
    on: (event: string, listener: Listener) => events.on(event, listener),
    once: (event: string, listener: Listener) => events.once(event, listener),
    off: (event: string, listener: Listener) => events.off(event, listener),
  } as SpawnedProcess;
}
