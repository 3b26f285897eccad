import {
  failedTurnRequestBound,
  type ModelFailureSettings,
  modelFailureSettings,
} from '../src/core/agent/model-failure.js';
import { AgentFixture } from '../test/support/agent-fixture.js';
import { testMessage } from '../test/support/inbound-messages.js';
import { reply, type ScriptedReply } from '../test/support/scripted-model-server.js';
import { formatMs, printTable } from './report.js';

/**
 * What a person waits, and what one message costs upstream, when the model
 * is silent or keeps failing: one message through the conversation worker
 * and the real runtime (Claude Code included) against a scripted model that
 * never answers, goes silent mid-answer, always answers 500, or breaks off
 * with an overloaded error. Time is from the message to the failure notice
 * reaching the chat.
 *
 * The settings are scaled down so the run is short (`BENCH_NOTICE_MS`,
 * default 10 s, in place of the product's 2 minutes; `BENCH_MAX_RETRIES`,
 * default the product's); the time to the notice scales with them.
 */
export async function modelFailure(): Promise<void> {
  const settings: Partial<ModelFailureSettings> = {
    noticeWithinMs: Number(process.env.BENCH_NOTICE_MS ?? 10_000),
    ...(process.env.BENCH_MAX_RETRIES && { maxRetries: Number(process.env.BENCH_MAX_RETRIES) }),
  };
  const resolved = modelFailureSettings(settings);
  const bound = failedTurnRequestBound(settings);
  const cases: Array<[string, ScriptedReply]> = [
    ['never answers', reply.hang('before-headers')],
    ['silent mid-answer', reply.hang('mid-stream')],
    ['always 500', reply.error(500)],
    ['overloaded mid-stream', reply.failMidStream()],
  ];

  const fixture = await AgentFixture.create();
  const rows: string[][] = [];
  try {
    let chat = 0;
    for (const [name, failure] of cases) {
      fixture.model.reset();
      fixture.model.setFallback(failure);
      const { worker, channel } = fixture.newWorker({ modelFailure: settings });
      const message = testMessage({ chatId: `bench-failure-${++chat}`, text: 'Hello?' });
      const startedAt = performance.now();
      let attempt = 1;
      // As the queue would: retry until the batch settles.
      for (;;) {
        const result = await worker.handle({ kind: 'turn', messages: [message], attempt });
        if (result.type === 'settled') break;
        attempt++;
      }
      rows.push([
        name,
        String(fixture.model.messageRequests.length),
        String(bound),
        String(attempt),
        formatMs(performance.now() - startedAt),
        String(channel.sent.length),
      ]);
    }
  } finally {
    await fixture.close();
  }
  printTable(
    `Model failure: notice within ${formatMs(resolved.noticeWithinMs)}, first byte ${formatMs(
      resolved.firstByteTimeoutMs,
    )}, idle ${formatMs(resolved.idleTimeoutMs)}, ${resolved.maxRetries} Claude Code retr${
      resolved.maxRetries === 1 ? 'y' : 'ies'
    }`,
    ['model', 'upstream requests', 'bound', 'attempts', 'time to notice', 'messages sent'],
    rows,
  );
}
