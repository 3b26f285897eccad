import { spawnSync } from 'node:child_process';
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

/**
 * Measured in a process of their own when run with others: the worker's
 * resident memory counts this process, which earlier benchmarks have grown.
 */
const ownProcess = new Set(['worker-memory']);

const chosen = process.argv.slice(2).filter((name) => !name.startsWith('-'));
const names = chosen.length > 0 ? chosen : Object.keys(benchmarks);
for (const name of names) {
  const run = benchmarks[name];
  if (!run) {
    process.stderr.write(
      `unknown benchmark "${name}"; choose from: ${Object.keys(benchmarks).join(', ')}\n`,
    );
    process.exit(2);
  }
  if (names.length > 1 && ownProcess.has(name)) {
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1] ?? '', name], {
      stdio: 'inherit',
    });
    if (child.status !== 0) process.exit(child.status ?? 1);
    continue;
  }
  await run();
}
