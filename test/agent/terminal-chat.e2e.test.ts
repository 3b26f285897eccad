import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAgentDir } from '../support/agent-fixture.js';
import {
  lastUserText,
  reply,
  requestText,
  ScriptedModelServer,
} from '../support/scripted-model-server.js';

// The terminal chat as a user scripts it: one process per run, messages piped
// in, replies read from standard output. Each run is a new process with a new
// config directory, so the second run can only know the first through the store.

const CHAT = path.resolve('src/entrypoints/chat.ts');
const model = new ScriptedModelServer();
let root = '';
let agentDir = '';

beforeAll(async () => {
  await model.start();
  root = await mkdtemp(path.join(tmpdir(), 'chat-test-'));
  agentDir = await writeAgentDir(root, { 'system_prompt.md': 'You are TestBot.' });
});

afterAll(async () => {
  await model.stop();
  await rm(root, { recursive: true, force: true });
});

async function chat(input: string, extraEnv: Record<string, string> = {}, args: string[] = []) {
  const tempDir = path.join(root, 'tmp');
  await mkdir(tempDir, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', CHAT, ...args], {
    env: {
      PATH: process.env.PATH,
      DATA_DIR: path.join(root, 'data'),
      AGENT_DIR: agentDir,
      ANTHROPIC_API_KEY: 'sk-test-chat',
      ANTHROPIC_BASE_URL: model.url,
      TMPDIR: tempDir,
      ...extraEnv,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr, tempDir };
}

describe('terminal chat', () => {
  it('continues the conversation in a new process, with the full history sent to the model', async () => {
    model.enqueue(reply.text('Nice to meet you, Ada.'));
    const first = await chat('My name is Ada\n');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('Nice to meet you, Ada.\n');
    // The first run's config directory is gone before the second run starts.
    expect((await readdir(first.tempDir)).filter((name) => name.startsWith('agent-turn-'))).toEqual(
      [],
    );

    model.enqueue(reply.text('Your name is Ada.'));
    const second = await chat('What is my name?\n');
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('Your name is Ada.\n');
    const request = model.messageRequests.at(-1);
    expect(request && lastUserText(request)).toBe('What is my name?');
    expect(request && requestText(request)).toContain('My name is Ada');
    expect(request && requestText(request)).toContain('Nice to meet you, Ada.');
  });

  it('answers one line at a time, and /new starts a fresh session', async () => {
    model.reset();
    model.enqueue(reply.text('First answer.'), reply.text('Fresh answer.'));
    const run = await chat('Remember PAPAYA\n/new\nWhat did I ask you to remember?\n', {
      DATA_DIR: path.join(root, 'data-new'),
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('First answer.\nStarted a new session.\nFresh answer.\n');
    const request = model.messageRequests.at(-1);
    expect(request && requestText(request)).not.toContain('PAPAYA');
  });

  it('refuses to start without model access, naming the setting', async () => {
    const run = await chat('hello\n', { ANTHROPIC_API_KEY: '' });
    // EX_CONFIG, as `npm start` (src/entrypoints/exit-codes.ts).
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('ANTHROPIC_API_KEY');
    expect(run.stdout).toBe('');
  });

  it('refuses to start with an invalid agent directory, naming the file', async () => {
    const run = await chat('hello\n', { AGENT_DIR: path.join(root, 'no-such-agent') });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('no-such-agent');
  });
});

describe('terminal chat command line', () => {
  it('--help names the command, both ways to run it, and every option', async () => {
    const run = await chat('', {}, ['--help']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Usage: agent-chat /);
    expect(run.stdout).toContain('npm run chat -- ');
    for (const option of ['--chat <id>', '-h, --help', '--version']) {
      expect(run.stdout).toContain(option);
    }
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    const run = await chat('', {}, ['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${version}\n`);
  });

  it('an unknown flag or a stray argument is an error with the usage line, exit code 2', async () => {
    const unknown = await chat('hello\n', {}, ['--chta', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain("Unknown option '--chta'");
    expect(unknown.stderr).toContain('Usage: agent-chat ');

    const stray = await chat('hello\n', {}, ['hello']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain("Unexpected argument 'hello'");

    const missing = await chat('hello\n', {}, ['--chat']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--chat');
  });

  it('--chat <id> talks in a conversation of its own', async () => {
    model.reset();
    model.enqueue(reply.text('Hello from the side chat.'));
    // The data directory of the first test, whose default conversation knows Ada.
    const run = await chat('Hi\n', {}, ['--chat', 'side']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Hello from the side chat.\n');
    const request = model.messageRequests.at(-1);
    expect(request && requestText(request)).not.toContain('Ada');
  });
});
