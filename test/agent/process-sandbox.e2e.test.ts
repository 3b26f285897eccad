import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { findExecutable } from '../../src/config/agent-config/shell-sandbox.js';
import { loadAgentConfig } from '../../src/config/agent-config.js';
import type { ProcessSandbox } from '../../src/core/agent/process-sandbox.js';
import { workspacePath } from '../../src/core/agent/workspace.js';
import type { ConversationRef } from '../../src/domain/conversation.js';
import { AgentFixture } from '../support/agent-fixture.js';
import { reply, ScriptedModelServer, toolResultsById } from '../support/scripted-model-server.js';

// Invariant 4, enforced by the operating system: the whole Claude Code
// process runs in bubblewrap (src/core/agent/process-sandbox.ts) and sees
// only the turn's working directory, its config directory and read-only
// agent files. What a path check in the PreToolUse hook cannot close (a
// name swapped between the check and the read) the mount namespace does.

const NEIGHBOUR_SECRET = 'other-conversation-SECRET-race-71c2';
const DOTENV_SECRET = 'dotenv-SECRET-race-3b9e';
const DECOY_SECRET = 'process-environment-SECRET-race-a4d0';
/** The first bytes of every SQLite database file. */
const SQLITE_HEADER = 'SQLite format 3';
const LEAKS = [NEIGHBOUR_SECRET, DOTENV_SECRET, DECOY_SECRET, SQLITE_HEADER];

let chat = 0;
const nextConversation = (): ConversationRef => ({
  tenant: 'test',
  channel: 'telegram',
  chatId: `process-sandbox-${++chat}`,
});

function expectNoLeak(text: string, where: string): void {
  for (const leak of LEAKS) expect(text.includes(leak), `${where} holds ${leak}`).toBe(false);
}

/** Starts a child process and kills it (by its own pid) when the test ends. */
function startOwned(command: string, args: string[], options: Parameters<typeof spawn>[2]) {
  const child = spawn(command, args, options);
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

describe.runIf(inject('shellSandbox'))('Claude Code in the process sandbox', () => {
  let fixture: AgentFixture;

  beforeAll(async () => {
    fixture = await AgentFixture.create({ 'system_prompt.md': 'You are TestBot.' });
    await writeFile(
      path.join(fixture.config.dir, 'policy.json'),
      JSON.stringify({ tools: { shell: { enabled: true } } }),
    );
    fixture.config = await loadAgentConfig(fixture.config.dir, { PATH: process.env.PATH });
  });

  afterAll(async () => {
    await fixture?.close();
  });

  it('leaks nothing when a name is swapped between a file and links out while it is read', async () => {
    // What another conversation, the project and the service hold.
    const neighbour = workspacePath(fixture.workspaceRoot, nextConversation());
    await mkdir(neighbour, { recursive: true });
    await writeFile(path.join(neighbour, 'notes.txt'), NEIGHBOUR_SECRET);
    const dotenv = path.join(fixture.root, '.env');
    await writeFile(dotenv, `DATABASE_PASSWORD=${DOTENV_SECRET}\n`);
    const decoy = startOwned('sleep', ['300'], {
      env: { PATH: process.env.PATH, DECOY: DECOY_SECRET },
      stdio: 'ignore',
    });
    const targets = [
      path.join(neighbour, 'notes.txt'),
      dotenv,
      fixture.databaseFile,
      `/proc/${decoy.pid}/environ`,
    ];

    const conversation = nextConversation();
    const workspace = workspacePath(fixture.workspaceRoot, conversation);
    await mkdir(workspace, { recursive: true });
    const race = path.join(workspace, 'race');
    await writeFile(race, 'harmless\n');
    // The background loop a shell command could leave running: each swap is
    // an atomic rename, so the name always exists, as a file or as a link.
    const swapper = startOwned(
      'sh',
      [
        '-c',
        `while :; do for t in "$@"; do printf 'harmless\\n' > .f && mv -f .f race; ln -sfn "$t" .l && mv -Tf .l race; done; done`,
        'swapper',
        ...targets,
      ],
      { cwd: workspace, stdio: 'ignore' },
    );

    const ROUNDS = 2;
    const READS = 100;
    for (let round = 0; round < ROUNDS; round++) {
      fixture.model.enqueue(
        reply.toolCalls(
          Array.from({ length: READS }, (_, index) => [
            `toolu_r${round}_${index}`,
            'Read',
            { file_path: race },
          ]),
        ),
      );
    }
    fixture.model.enqueue(reply.text('Read it.'));
    const messages: SDKMessage[] = [];

    const result = await fixture.newRuntime().runTurn({
      conversation,
      prompt: 'Read the file again and again',
      onMessage: (message) => messages.push(message),
    });
    swapper.kill('SIGKILL');

    expect(result.outcome).toBe('success');
    // The last request carries every round's results.
    const results = [...toolResultsById(fixture.model.messageRequests.at(-1)).values()];
    expect(results).toHaveLength(ROUNDS * READS);
    // The race was live: some reads found the file.
    expect(results.some((entry) => entry.text.includes('harmless'))).toBe(true);
    for (const entry of results) expectNoLeak(entry.text, `tool result ${entry.toolUseId}`);
    expectNoLeak(
      JSON.stringify(fixture.model.requests.map((request) => request.body)),
      'a model request',
    );
    expectNoLeak(JSON.stringify(messages), 'a message to the user');
    expect(decoy.exitCode).toBeNull();
  });

  it('shows the agent neither the service in /proc nor anything outside its directories', async () => {
    const conversation = nextConversation();
    const workspace = workspacePath(fixture.workspaceRoot, conversation);
    const serviceCmdline = readFileSync('/proc/self/cmdline', 'utf8').replaceAll('\0', ' ').trim();
    let claude: number | undefined;
    let seen: Record<string, boolean> = {};
    fixture.model.enqueue(
      () => {
        // Mid-turn: Claude Code is alive and waiting for this reply.
        claude = claudeCodeProcesses(fixture.tempRoot)[0];
        return reply.toolCalls([
          ['toolu_init', 'Bash', { command: "tr '\\0' ' ' < /proc/1/cmdline; echo; ls /proc" }],
          ['toolu_service', 'Bash', { command: `cat /proc/${process.pid}/cmdline` }],
          ['toolu_environ', 'Read', { file_path: `/proc/${process.pid}/environ` }],
        ]);
      },
      () => {
        // Seen from the host, while it still runs.
        if (claude !== undefined) {
          const root = `/proc/${claude}/root`;
          seen = {
            ownPidNamespace:
              readlinkSync(`/proc/${claude}/ns/pid`) !== readlinkSync('/proc/self/ns/pid'),
            workspace: existsSync(`${root}${workspace}`),
            database: existsSync(`${root}${fixture.databaseFile}`),
            dotenv: existsSync(`${root}${path.join(fixture.root, '.env')}`),
            project: existsSync(`${root}${path.resolve('package.json')}`),
          };
        }
        return reply.text('Looked.');
      },
    );

    const result = await fixture.newRuntime().runTurn({ conversation, prompt: 'Look around' });

    expect(result.outcome).toBe('success');
    expect(claude, 'found the Claude Code process of the turn').toBeDefined();
    // Its own pid namespace, and a file system with the working directory
    // but not the database, the project or its .env.
    expect(seen).toEqual({
      ownPidNamespace: true,
      workspace: true,
      database: false,
      dotenv: false,
      project: false,
    });
    const results = toolResultsById(fixture.model.messageRequests.at(-1));
    const listing = results.get('toolu_init')?.text ?? '';
    // The sandbox's own processes: its init (bubblewrap), not the service.
    expect(listing).toContain('bwrap');
    // `ls /proc` (after the command line) lists the sandbox's pids only. (The
    // command line may name the service's pid inside a turn directory's name.)
    const pids = listing
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
    expect(pids).toContain('1');
    expect(pids).not.toContain(String(process.pid));
    expect(results.get('toolu_service')?.text).not.toContain(serviceCmdline);
    expect(results.get('toolu_environ')).toMatchObject({ isError: true });
  });
});

describe('when the service is killed', () => {
  const SERVICE = path.resolve('test/agent/hung-turn-service.ts');
  let model: ScriptedModelServer;

  beforeAll(async () => {
    // A model that never answers: the turn is in flight when the service dies.
    model = await new ScriptedModelServer({
      fallback: reply.text('too late', { delayMs: 600_000 }),
    }).start();
  });

  afterAll(async () => {
    await model?.stop();
  });

  async function killServiceMidTurn(sandbox: ProcessSandbox): Promise<void> {
    // A unique directory: every process of this service's turn has it in its
    // command line or environment, and nothing else on the machine does.
    const root = await mkdtemp(path.join(tmpdir(), 'hung-service-'));
    onTestFinished(async () => {
      for (const pid of processesMentioning(root)) process.kill(pid, 'SIGKILL');
      await rm(root, { recursive: true, force: true });
    });
    const before = model.messageRequests.length;
    const service: ChildProcess = startOwned(
      process.execPath,
      ['--import', 'tsx', SERVICE, JSON.stringify({ modelUrl: model.url, root, sandbox })],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => service.once('exit', resolve));

    await within(
      60_000,
      () => model.messageRequests.length > before,
      'the turn to reach the model',
    );
    const agents = processesMentioning(root);
    expect(agents.length, 'Claude Code is running').toBeGreaterThan(0);

    service.kill('SIGKILL');
    await exited;
    await within(15_000, () => processesMentioning(root).length === 0, 'the agent to die');
    expect(processesMentioning(root)).toEqual([]);
  }

  it.runIf(inject('shellSandbox'))('takes Claude Code with it (bubblewrap)', async () => {
    const bwrap = await findExecutable('bwrap', process.env.PATH);
    await killServiceMidTurn({ kind: 'bubblewrap', bwrap: bwrap ?? 'bwrap' });
  });

  it('takes Claude Code with it (setpriv --pdeathsig, where there is no sandbox)', async (context) => {
    const setpriv = await findExecutable('setpriv', process.env.PATH);
    if (!setpriv || process.platform !== 'linux') context.skip('setpriv (util-linux) not found');
    await killServiceMidTurn({ kind: 'pdeathsig', setpriv: setpriv ?? '', reason: 'test' });
  });
});

async function within(ms: number, check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Live processes whose command line or environment contains `marker`. */
function processesMentioning(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const status = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // A zombie is dead; it only waits for its parent to collect it.
      if (status.slice(status.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (cmdline.includes(marker) || environ.includes(marker)) found.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return found;
}

/** The Claude Code processes of turns whose config directory is under `tempRoot`. */
function claudeCodeProcesses(tempRoot: string): number[] {
  return processesMentioning(tempRoot).filter((pid) => {
    try {
      return path.basename(readlinkSync(`/proc/${pid}/exe`)) === 'claude';
    } catch {
      return false;
    }
  });
}
