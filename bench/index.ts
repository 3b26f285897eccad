import { awsSessionStore } from './aws-session-store.js';
import { ingressColdStart } from './ingress-cold-start.js';
import { ingressLatency } from './ingress-latency.js';
import { longConversation } from './long-conversation.js';
import { modelFailure } from './model-failure.js';
import { runtimeOverhead } from './runtime-overhead.js';
import { workerMemory } from './worker-memory.js';
import { workspaceStore } from './workspace-store.js';

/**
 * `npm run bench`: prints figures, asserts nothing. Pick benchmarks with
 * arguments (`npm run bench -- overhead long`); all run by default.
 */
const benchmarks: Record<string, () => Promise<void>> = {
  overhead: runtimeOverhead,
  long: longConversation,
  ingress: () => ingressLatency(),
  aws: awsSessionStore,
  'model-failure': modelFailure,
  workspace: workspaceStore,
  'worker-memory': workerMemory,
  'ingress-cold-start': ingressColdStart,
};

const chosen = process.argv.slice(2).filter((name) => !name.startsWith('-'));
for (const name of chosen.length > 0 ? chosen : Object.keys(benchmarks)) {
  const run = benchmarks[name];
  if (!run) {
    process.stderr.write(
      `unknown benchmark "${name}"; choose from: ${Object.keys(benchmarks).join(', ')}\n`,
    );
    process.exit(2);
  }
  await run();
}
