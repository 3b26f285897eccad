import { readdir, readFile } from 'node:fs/promises';
import { AgentFixture } from '../test/support/agent-fixture.js';
import {
  HTTP_TOOL,
  HttpTestMcpServer,
  STDIO_TOOL,
  stdioServerEntry,
} from '../test/support/mcp/mcp-test-servers.js';
import { type RecordedRequest, reply, systemText } from '../test/support/scripted-model-server.js';
import { formatBytes, printTable } from './report.js';

/**
 * What memory a worker needs: the peak resident memory of a turn that runs
 * a subagent and calls two MCP servers (one over stdio, a child process of
 * Claude Code; one over HTTP), sampled from /proc every few milliseconds.
 *
 * - service: this Node process, which on Lambda is the worker handler (model
 *   gateway, session store, Telegram client). Here it also holds the
 *   scripted model server and the HTTP MCP server, so it is an overestimate.
 * - Claude Code: the CLI process and everything it starts (the stdio MCP
 *   server, here Node with tsx and its esbuild service, heavier than most;
 *   a subagent runs inside the CLI process; locally also the bubblewrap
 *   sandbox around it, a few MB).
 *
 * RSS counts pages shared between processes once per process, so the sum is
 * an upper bound of what Lambda reports as "Max Memory Used" for the same
 * work. infra/lib/config.ts sets the worker's default memory from this.
 */

const TURNS = Number(process.env.BENCH_TURNS ?? 4);
const SAMPLE_MS = 10;
const SUBAGENT_MARKER = 'You are the MEMORY-BENCH subagent.';

export async function workerMemory(): Promise<void> {
  const http = await new HttpTestMcpServer().start();
  const fixture = await AgentFixture.create({
    'system_prompt.md': 'You are a benchmark agent.',
    'agents.json': JSON.stringify({
      researcher: {
        description: 'Looks things up',
        prompt_file: 'agents/researcher.md',
        tools: ['Read', 'Grep'],
        model: 'haiku',
      },
    }),
    'agents/researcher.md': SUBAGENT_MARKER,
    'mcp.json': JSON.stringify({
      mcpServers: { local: stdioServerEntry(), remote: { type: 'http', url: http.url } },
    }),
  });
  const sampler = new TreeSampler(process.pid);
  const rows: string[][] = [];
  try {
    const runtime = fixture.newRuntime();
    const idle = await sampler.sample();
    rows.push(['idle, before any turn', ...figures(idle)]);
    for (let turn = 0; turn < TURNS; turn++) {
      scriptTurn(fixture, turn);
      sampler.start();
      const result = await runtime.runTurn({
        conversation: { tenant: 'bench', channel: 'bench', chatId: 'memory' },
        prompt: `Task ${turn}: look it up with the tools and the researcher.`,
      });
      const peak = await sampler.stop();
      if (result.outcome !== 'success') throw new Error(`turn ${turn}: ${result.outcome}`);
      rows.push([
        turn === 0 ? 'turn 1 (new session)' : `turn ${turn + 1} (resumed)`,
        ...figures(peak),
      ]);
    }
  } finally {
    await fixture.close();
    await http.stop();
  }
  printTable(
    `Worker memory, peak RSS per turn (subagent + stdio and HTTP MCP servers, sampled every ${SAMPLE_MS} ms)`,
    ['turn', 'service process', 'Claude Code tree', 'processes', 'peak total'],
    rows,
  );
  const worst = Math.max(...sampler.totals);
  process.stdout.write(
    `largest total: ${formatBytes(worst)}; with 50 % headroom, rounded up to 256 MB: ${
      Math.ceil((worst * 1.5) / (256 * 1024 * 1024)) * 256
    } MB\n`,
  );
}

function figures(peak: Peak): string[] {
  return [
    formatBytes(peak.service),
    formatBytes(peak.claude),
    String(peak.processes),
    formatBytes(peak.service + peak.claude),
  ];
}

/** Main agent: both MCP tools, then the subagent, then the answer; the subagent reads a file. */
function scriptTurn(fixture: AgentFixture, turn: number): void {
  const isSubagent = (request: RecordedRequest) => systemText(request).includes(SUBAGENT_MARKER);
  fixture.model.reset();
  fixture.model.enqueueFor(
    (request) => !isSubagent(request),
    reply.toolUses([
      { name: `mcp__local__${STDIO_TOOL}`, input: { text: `task ${turn}` } },
      { name: `mcp__remote__${HTTP_TOOL}`, input: { key: `k${turn}` } },
    ]),
    reply.subagent('researcher', `Find what task ${turn} needs`, 'Research'),
    reply.text(`Done with task ${turn}.`),
  );
  fixture.model.enqueueFor(
    isSubagent,
    reply.toolUse('Grep', { pattern: 'task', path: '.' }),
    reply.text(`Task ${turn} needs nothing more.`),
  );
}

interface Peak {
  service: number;
  claude: number;
  processes: number;
}

/**
 * Samples RSS of this process and of Claude Code's process tree (children
 * of this process whose command line is the agent SDK's CLI, and all their
 * descendants); keeps the sample with the largest total.
 */
class TreeSampler {
  readonly totals: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private peak: Peak = { service: 0, claude: 0, processes: 0 };
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly root: number) {}

  start(): void {
    this.peak = { service: 0, claude: 0, processes: 0 };
    this.timer = setInterval(() => {
      this.pending = this.pending.then(async () => this.keep(await this.sample()));
    }, SAMPLE_MS);
  }

  async stop(): Promise<Peak> {
    clearInterval(this.timer);
    await this.pending;
    this.keep(await this.sample());
    this.totals.push(this.peak.service + this.peak.claude);
    return this.peak;
  }

  private keep(sample: Peak): void {
    if (sample.service + sample.claude > this.peak.service + this.peak.claude) this.peak = sample;
  }

  async sample(): Promise<Peak> {
    const parents = new Map<number, number>();
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      // The command name (field 2) may hold spaces; the parent pid follows its closing parenthesis.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid) parents.set(Number(entry), ppid);
    }
    const children = (pid: number) =>
      [...parents.entries()].filter(([, parent]) => parent === pid).map(([child]) => child);
    const claudeRoots: number[] = [];
    for (const child of children(this.root)) {
      const cmdline = await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes('claude-agent-sdk')) claudeRoots.push(child);
    }
    const tree: number[] = [];
    const walk = (pid: number) => {
      tree.push(pid);
      for (const child of children(pid)) walk(child);
    };
    for (const pid of claudeRoots) walk(pid);
    const sizes = await Promise.all(tree.map(rssOf));
    return {
      service: await rssOf(this.root),
      claude: sizes.reduce((sum, size) => sum + size, 0),
      processes: tree.length,
    };
  }
}

/** Resident set size in bytes (0 for a process that has just exited). */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kilobytes = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kilobytes ? Number(kilobytes) * 1024 : 0;
}
