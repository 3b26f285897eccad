import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InMemoryTurnControl } from '../../src/adapters/memory/in-memory-turn-control.js';
import { openDatabase, type SqliteDatabase } from '../../src/adapters/sqlite/database.js';
import { SqliteConversationIndex } from '../../src/adapters/sqlite/sqlite-conversation-index.js';
import { SqliteSessionStore } from '../../src/adapters/sqlite/sqlite-session-store.js';
import { type AgentConfig, loadAgentConfig } from '../../src/config/agent-config.js';
import { AgentRuntime, type AgentRuntimeOptions } from '../../src/core/agent/agent-runtime.js';
import { ConversationWorker } from '../../src/core/pipeline/conversation-worker.js';
import { FakeChannel } from './fake-channel.js';
import { MemoryReplyOutbox } from './memory-stores.js';
import { ScriptedModelServer } from './scripted-model-server.js';

/** Files of an agent configuration directory, by relative path. */
export type AgentFiles = Record<string, string>;

export const BASIC_AGENT: AgentFiles = {
  'system_prompt.md': 'You are TestBot, a helpful assistant in a chat.',
};

/** Writes an agent directory into `root` and loads it. */
export async function writeAgentDir(
  root: string,
  files: AgentFiles = BASIC_AGENT,
): Promise<string> {
  const dir = path.join(root, 'agent');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

/**
 * Everything a runtime test needs, on real parts: a temp data directory with
 * a SQLite database, a scripted model server and an agent directory.
 * `newRuntime()` builds a runtime as a fresh container would, sharing only
 * the database file.
 */
export class AgentFixture {
  readonly model = new ScriptedModelServer();
  root = '';
  config!: AgentConfig;
  database!: SqliteDatabase;
  sessionStore!: SqliteSessionStore;
  conversations!: SqliteConversationIndex;
  private readonly runtimes: AgentRuntime[] = [];

  static async create(files: AgentFiles = BASIC_AGENT): Promise<AgentFixture> {
    const fixture = new AgentFixture();
    fixture.root = await mkdtemp(path.join(tmpdir(), 'agent-test-'));
    await mkdir(fixture.tempRoot, { recursive: true });
    fixture.config = await loadAgentConfig(await writeAgentDir(fixture.root, files), {});
    fixture.database = openDatabase(fixture.databaseFile);
    fixture.sessionStore = new SqliteSessionStore(fixture.database);
    fixture.conversations = new SqliteConversationIndex(fixture.database);
    await fixture.model.start();
    return fixture;
  }

  get databaseFile(): string {
    return path.join(this.root, 'data', 'agent.sqlite');
  }

  get workspaceRoot(): string {
    return path.join(this.root, 'data', 'workspaces');
  }

  /** Per-turn config directories are made here, so tests can look inside while a turn runs. */
  get tempRoot(): string {
    return path.join(this.root, 'tmp');
  }

  newRuntime(overrides: Partial<AgentRuntimeOptions> = {}): AgentRuntime {
    const runtime = new AgentRuntime({
      config: this.config,
      sessionStore: this.sessionStore,
      conversations: this.conversations,
      modelAccess: {
        provider: 'anthropic',
        apiKey: 'sk-test-upstream-key',
        baseUrl: this.model.url,
      },
      workspaceRoot: this.workspaceRoot,
      tempRoot: this.tempRoot,
      ...overrides,
    });
    this.runtimes.push(runtime);
    return runtime;
  }

  /**
   * A conversation worker over a new runtime, as the local server drives it,
   * answering into a recording channel (no status message).
   */
  newWorker(overrides: Partial<AgentRuntimeOptions> = {}): {
    worker: ConversationWorker;
    channel: FakeChannel;
  } {
    const channel = new FakeChannel(4000);
    const worker = new ConversationWorker({
      runner: this.newRuntime(overrides),
      channel,
      outbox: new MemoryReplyOutbox(),
      conversations: this.conversations,
      turns: new InMemoryTurnControl(),
      maxAttempts: 3,
      progress: false,
    });
    return { worker, channel };
  }

  async close(): Promise<void> {
    await Promise.all(this.runtimes.map((runtime) => runtime.close()));
    await this.model.stop();
    this.database.close();
    await rm(this.root, { recursive: true, force: true });
  }
}
