import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase } from '../../src/adapters/sqlite/database.js';
import { SqliteConversationIndex } from '../../src/adapters/sqlite/sqlite-conversation-index.js';
import { SqliteSessionStore } from '../../src/adapters/sqlite/sqlite-session-store.js';
import { loadAgentConfig } from '../../src/config/agent-config.js';
import { AgentRuntime } from '../../src/core/agent/agent-runtime.js';
import type { ProcessSandbox } from '../../src/core/agent/process-sandbox.js';
import { writeAgentDir } from '../support/agent-fixture.js';

// A stand-in for the service in process-sandbox.e2e.test.ts: it starts one
// agent turn against the test's scripted model (which never answers) and
// waits, until the test kills it with SIGKILL.

const { modelUrl, root, sandbox } = JSON.parse(process.argv[2] ?? '{}') as {
  modelUrl: string;
  root: string;
  sandbox: ProcessSandbox;
};

await mkdir(path.join(root, 'tmp'), { recursive: true });
const database = openDatabase(path.join(root, 'data', 'agent.sqlite'));
const runtime = new AgentRuntime({
  config: await loadAgentConfig(await writeAgentDir(root), {}),
  sessionStore: new SqliteSessionStore(database),
  conversations: new SqliteConversationIndex(database),
  modelAccess: { provider: 'anthropic', apiKey: 'sk-test-upstream-key', baseUrl: modelUrl },
  workspaceRoot: path.join(root, 'data', 'workspaces'),
  tempRoot: path.join(root, 'tmp'),
  processSandbox: sandbox,
});
await runtime.runTurn({
  conversation: { tenant: 'test', channel: 'telegram', chatId: 'hung' },
  prompt: 'Take your time',
});
