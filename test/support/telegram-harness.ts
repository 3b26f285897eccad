import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAppSettings } from '../../src/config/app-settings.js';
import { type LocalApp, startLocalApp } from '../../src/entrypoints/local-app.js';
import { writeAgentDir } from './agent-fixture.js';
import { FakeBotApi } from './fake-bot-api.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  ScriptedModelServer,
  type ScriptedReply,
} from './scripted-model-server.js';

/** Users the harness's bot lets in. */
export const ALLOWED_USER = { id: 111, first_name: 'Ada' };
export const OTHER_ALLOWED_USER = { id: 222, first_name: 'Bob' };

/**
 * The local server's world for end-to-end tests: a fake Telegram Bot API, a
 * scripted model server, a temp data and agent directory, and the app itself
 * (in this process, or as a child process).
 *
 * The model answers through `respond`, a function of the request, so tests
 * that run several conversations at once stay deterministic. By default it
 * echoes the newest user text.
 */
export class TelegramHarness {
  readonly model: ScriptedModelServer;
  api!: FakeBotApi;
  root = '';
  agentDir = '';
  app: LocalApp | undefined;
  respond: (request: RecordedRequest) => ScriptedReply = (request) =>
    reply.text(`echo: ${lastUserText(request)}`);

  private constructor() {
    this.model = new ScriptedModelServer({ fallback: (request) => this.respond(request) });
  }

  static async create(): Promise<TelegramHarness> {
    const harness = new TelegramHarness();
    harness.root = await mkdtemp(path.join(tmpdir(), 'telegram-e2e-'));
    await mkdir(path.join(harness.root, 'tmp'), { recursive: true });
    harness.agentDir = await writeAgentDir(harness.root, {
      'system_prompt.md': 'You are TestBot.',
    });
    harness.api = await FakeBotApi.start();
    await harness.model.start();
    return harness;
  }

  get dataDir(): string {
    return path.join(this.root, 'data');
  }

  /** The environment `npm start` would be given. */
  env(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TELEGRAM_BOT_TOKEN: this.api.token,
      TELEGRAM_API_ROOT: this.api.apiRoot,
      TELEGRAM_ALLOWED_USER_IDS: `${ALLOWED_USER.id},${OTHER_ALLOWED_USER.id}`,
      ANTHROPIC_API_KEY: 'sk-test-upstream-key',
      ANTHROPIC_BASE_URL: this.model.url,
      DATA_DIR: this.dataDir,
      AGENT_DIR: this.agentDir,
      TMPDIR: path.join(this.root, 'tmp'),
      WORKER_CONCURRENCY: '2',
      ...overrides,
    };
  }

  async startApp(overrides: Record<string, string> = {}): Promise<LocalApp> {
    const env = this.env(overrides);
    this.app = await startLocalApp(loadAppSettings(env, this.root), env);
    return this.app;
  }

  async stopApp(): Promise<void> {
    await this.app?.stop();
    this.app = undefined;
  }

  /** Model requests whose newest user text contains `text`. */
  turnsAsking(text: string): RecordedRequest[] {
    return this.model.messageRequests.filter((request) => lastUserText(request).includes(text));
  }

  async close(): Promise<void> {
    await this.stopApp();
    await this.api.stop();
    await this.model.stop();
    await rm(this.root, { recursive: true, force: true });
  }
}
