import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeAgentDir } from '../test/support/agent-fixture.js';
import { FakeBotApi, textMessageUpdate } from '../test/support/fake-bot-api.js';
import { formatMs, percentile, printTable } from './report.js';

/**
 * Ingress latency of `npm start` in webhook mode: from the moment an update is
 * POSTed to the moment the server acknowledges it (normalised, deduplicated,
 * durably queued), at several sustained rates.
 *
 * The server runs as its own process, exactly as `npm start` does, against a
 * fake Bot API on loopback. The load is open-loop (requests leave on schedule
 * whether or not earlier ones were answered), so a slow server shows up as
 * latency instead of quietly lowering the rate. The senders are not on the
 * allowlist: the workers keep running (each update is answered with a short
 * refusal through the fake Bot API) without starting agent turns, whose cost
 * the other benchmarks measure.
 */

const SECRET = 'bench-webhook-secret-0123456789';
const DEFAULT_RATES = [50, 200, 500];
const DEFAULT_SECONDS = 4;
const CHATS = 100;

export async function ingressLatency(
  options: { rates?: number[]; seconds?: number } = {},
): Promise<void> {
  const rates = options.rates ?? DEFAULT_RATES;
  const seconds = options.seconds ?? DEFAULT_SECONDS;
  const root = await mkdtemp(path.join(tmpdir(), 'bench-ingress-'));
  const api = await FakeBotApi.start();
  const port = await freePort();
  const server = spawn(
    process.execPath,
    ['--import', 'tsx', path.resolve('src/entrypoints/local-server.ts')],
    {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        TELEGRAM_BOT_TOKEN: api.token,
        TELEGRAM_API_ROOT: api.apiRoot,
        TELEGRAM_ALLOWED_USER_IDS: '1',
        TELEGRAM_WEBHOOK_URL: 'https://bench.invalid/telegram',
        TELEGRAM_WEBHOOK_SECRET: SECRET,
        WEBHOOK_HOST: '127.0.0.1',
        WEBHOOK_PORT: String(port),
        // Never reached: nobody in this benchmark is allowed to start a turn.
        ANTHROPIC_API_KEY: 'bench-unused',
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
        DATA_DIR: path.join(root, 'data'),
        AGENT_DIR: await writeAgentDir(root, { 'system_prompt.md': 'Benchmark agent.' }),
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let nextUpdateId = 1;
  const post = () => postUpdate(agent, port, nextUpdateId++);

  try {
    await api.waitFor(() => api.callsTo('setWebhook').length > 0, 60_000, 'the server to start');
    // Warm up connections, JIT and SQLite's page cache.
    await runAt(post, 100, 1);

    const rows: string[][] = [];
    let sent = 0;
    for (const rate of rates) {
      const result = await runAt(post, rate, seconds);
      sent += result.latencies.length + result.errors;
      rows.push([
        `${rate}/s`,
        String(result.latencies.length),
        String(result.errors),
        `${result.achievedRate.toFixed(0)}/s`,
        formatMs(percentile(result.latencies, 50)),
        formatMs(percentile(result.latencies, 99)),
        formatMs(Math.max(...result.latencies)),
      ]);
    }
    printTable(
      `Ingress latency, webhook mode (update POSTed -> queued and acknowledged), ${seconds} s per rate`,
      ['rate', 'updates', 'errors', 'achieved', 'p50', 'p99', 'max'],
      rows,
    );
    // The workers answered meanwhile: show how far behind they were when the load stopped.
    const answeredAtEnd = api.callsTo('sendMessage').length;
    await api
      .waitFor(() => api.callsTo('sendMessage').length >= sent + 100, 60_000, 'the workers')
      .catch(() => {});
    process.stdout.write(
      `Workers (refusal replies): ${answeredAtEnd} of ${sent + 100} sent when the load stopped, ` +
        `${api.callsTo('sendMessage').length} after draining.\n`,
    );
  } finally {
    agent.destroy();
    await new Promise<void>((resolve) => {
      if (server.exitCode !== null) return resolve();
      server.once('exit', () => resolve());
      server.kill('SIGTERM');
    });
    await api.stop();
    await rm(root, { recursive: true, force: true });
  }
}

interface RunResult {
  latencies: number[];
  errors: number;
  achievedRate: number;
}

/** Send `rate` requests a second for `seconds`, on schedule, and collect each one's latency. */
async function runAt(
  send: () => Promise<number>,
  rate: number,
  seconds: number,
): Promise<RunResult> {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let index = 0; index < total; index++) {
    const due = start + index * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(
      send().then(
        (latency) => {
          latencies.push(latency);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  const sentIn = (performance.now() - start) / 1000;
  await Promise.all(inFlight);
  return { latencies, errors, achievedRate: total / Math.max(sentIn, 1e-9) };
}

function postUpdate(agent: Agent, port: number, updateId: number): Promise<number> {
  const chatId = 10_000 + (updateId % CHATS);
  const body = JSON.stringify({
    update_id: updateId,
    ...textMessageUpdate({
      chatId,
      text: `benchmark message ${updateId}`,
      from: { id: chatId },
      messageId: updateId,
    }),
  });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/telegram',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-telegram-bot-api-secret-token': SECRET,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) resolve(performance.now() - started);
          else reject(new Error(`status ${res.statusCode}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

// Run on its own: `tsx bench/ingress-latency.ts [rate ...] [--seconds=N]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const rates = args.filter((arg) => /^\d+$/.test(arg)).map(Number);
  const secondsArg = args.find((arg) => arg.startsWith('--seconds='));
  await ingressLatency({
    ...(rates.length > 0 ? { rates } : {}),
    ...(secondsArg ? { seconds: Number(secondsArg.split('=')[1]) } : {}),
  });
}
