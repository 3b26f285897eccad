import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { query } from '@anthropic-ai/claude-agent-sdk';
import { AgentFixture } from '../test/support/agent-fixture.js';
import { reply } from '../test/support/scripted-model-server.js';
import { formatMs, median, printTable } from './report.js';

/**
 * Turn time of the runtime against a bare SDK `query()` on the same prompts,
 * both against the scripted model at zero latency, interleaved so that
 * whatever else the machine does affects both alike.
 *
 * The bare query is the SDK at its simplest: no session store, one config
 * directory kept across turns, resume by session id. The runtime adds what
 * the product needs: a fresh config directory per turn, the model gateway,
 * the SQLite session store and the conversation index.
 */

const TURNS = Number(process.env.BENCH_TURNS ?? 12);

export async function runtimeOverhead(): Promise<void> {
  const fixture = await AgentFixture.create();
  fixture.model.reset();
  const runtime = fixture.newRuntime();
  const bareRoot = await mkdtemp(path.join(tmpdir(), 'bench-bare-'));
  const bareConfig = path.join(bareRoot, 'config');
  const bareCwd = path.join(bareRoot, 'work');
  await mkdir(bareConfig, { recursive: true });
  await mkdir(bareCwd, { recursive: true });

  const bareTurn = async (prompt: string, resume: string | undefined): Promise<string> => {
    let sessionId = '';
    for await (const message of query({
      prompt,
      options: {
        cwd: bareCwd,
        resume,
        systemPrompt: fixture.config.systemPrompt,
        settingSources: [],
        env: {
          PATH: process.env.PATH,
          HOME: bareConfig,
          CLAUDE_CONFIG_DIR: bareConfig,
          ANTHROPIC_BASE_URL: fixture.model.url,
          ANTHROPIC_API_KEY: 'bench',
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        },
      },
    })) {
      if (message.type === 'result') sessionId = message.session_id;
    }
    return sessionId;
  };

  // One untimed turn each, so neither side pays for first-time disk caching.
  fixture.model.enqueue(reply.text('warm'), reply.text('warm'));
  await runtime.runTurn({
    conversation: { tenant: 'bench', channel: 'bench', chatId: 'warm' },
    prompt: 'warm up',
  });
  await bareTurn('warm up', undefined);

  const times = {
    runtimeFirst: [] as number[],
    bareFirst: [] as number[],
    runtimeResumed: [] as number[],
    bareResumed: [] as number[],
  };
  for (let i = 0; i < TURNS; i++) {
    const prompts = [`Question ${i}: what is ${i} + ${i}?`, `Follow-up ${i}: and doubled?`];
    const conversation = { tenant: 'bench', channel: 'bench', chatId: `c${i}` };
    fixture.model.enqueue(reply.text(`It is ${2 * i}.`), reply.text(`It is ${4 * i}.`));
    let start = performance.now();
    await runtime.runTurn({ conversation, prompt: prompts[0] as string });
    times.runtimeFirst.push(performance.now() - start);
    start = performance.now();
    await runtime.runTurn({ conversation, prompt: prompts[1] as string });
    times.runtimeResumed.push(performance.now() - start);

    fixture.model.enqueue(reply.text(`It is ${2 * i}.`), reply.text(`It is ${4 * i}.`));
    start = performance.now();
    const sessionId = await bareTurn(prompts[0] as string, undefined);
    times.bareFirst.push(performance.now() - start);
    start = performance.now();
    await bareTurn(prompts[1] as string, sessionId);
    times.bareResumed.push(performance.now() - start);
  }

  const row = (label: string, ours: number[], bare: number[]) => [
    label,
    formatMs(median(ours)),
    formatMs(median(bare)),
    `${(median(ours) / median(bare)).toFixed(3)}x`,
  ];
  printTable(
    `Turn time, median of ${TURNS} (scripted model, zero latency)`,
    ['turn', 'runtime', 'bare query()', 'ratio'],
    [
      row('first turn (new session)', times.runtimeFirst, times.bareFirst),
      row('second turn (resumed)', times.runtimeResumed, times.bareResumed),
    ],
  );
  await fixture.close();
  await rm(bareRoot, { recursive: true, force: true });
}
