import type { SessionStoreEntry } from '@anthropic-ai/claude-agent-sdk';
import { AgentFixture } from '../test/support/agent-fixture.js';
import { reply } from '../test/support/scripted-model-server.js';
import { formatBytes, printTable } from './report.js';

/**
 * Bytes the runtime writes to the session store per turn over a long
 * conversation, against the transcript's total size: persistence should cost
 * what a turn adds, flat as the conversation grows, never the whole transcript.
 */

const TURNS = Number(process.env.BENCH_LONG_TURNS ?? 200);
const REPORT_AT = new Set([1, 2, 10, 50, 100, 150, 200, TURNS]);

export async function longConversation(): Promise<void> {
  // The scripted model's token counts are priced as a real model's would be;
  // lift the daily budget so 200 turns in one day are allowed.
  const fixture = await AgentFixture.create({
    'system_prompt.md': 'You are a benchmark assistant.',
    'policy.json': JSON.stringify({ maxBudgetUsdPerConversationPerDay: 100_000 }),
  });
  const runtime = fixture.newRuntime();
  const conversation = { tenant: 'bench', channel: 'bench', chatId: 'long' };
  const rows: string[][] = [];
  let previousBytes = 0;
  for (let turn = 1; turn <= TURNS; turn++) {
    fixture.model.enqueue(reply.text(`Answer number ${turn}: ${'lorem ipsum '.repeat(20)}`));
    const result = await runtime.runTurn({
      conversation,
      prompt: `Message number ${turn}, tell me something.`,
    });
    if (result.outcome !== 'success')
      throw new Error(`turn ${turn} failed: ${result.errorMessage}`);
    const written = fixture.sessionStore.bytesWritten - previousBytes;
    previousBytes = fixture.sessionStore.bytesWritten;
    if (REPORT_AT.has(turn)) {
      const record = await fixture.conversations.get(`bench:bench:long:-`);
      const entries = (await fixture.sessionStore.load({
        projectKey: String(record?.projectKey),
        sessionId: String(record?.sessionId),
      })) as SessionStoreEntry[];
      const total = entries.reduce(
        (sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry)),
        0,
      );
      rows.push([
        String(turn),
        formatBytes(written),
        formatBytes(total),
        `${((written / total) * 100).toFixed(1)}%`,
      ]);
    }
  }
  printTable(
    `Session store writes over a ${TURNS}-turn conversation (SQLite)`,
    ['turn', 'written this turn', 'transcript size', 'share'],
    rows,
  );
  await fixture.close();
}
