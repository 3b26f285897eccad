import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textMessageUpdate } from '../support/fake-bot-api.js';
import { lastUserText, reply } from '../support/scripted-model-server.js';
import { eventually } from '../support/server-process.js';
import { ALLOWED_USER, TelegramHarness } from '../support/telegram-harness.js';

// What `npm start` and the Docker image run: the compiled tree under dist/,
// with plain node and no TypeScript loader.

const DIST = path.resolve('dist/entrypoints');

/** The JSON-array command of a Dockerfile instruction (`CMD [...]`, `HEALTHCHECK ... CMD [...]`). */
function dockerCommand(instruction: 'CMD' | 'HEALTHCHECK'): string[] {
  const text = readFileSync('Dockerfile', 'utf8').replace(/\\\n\s*/g, ' ');
  const line = text.split('\n').find((l) => l.startsWith(`${instruction} `));
  const json = line && /CMD (\[.*\])\s*$/.exec(line)?.[1];
  if (!json) throw new Error(`no ${instruction} in the Dockerfile`);
  return JSON.parse(json) as string[];
}
let harness: TelegramHarness;

beforeAll(async () => {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  harness = await TelegramHarness.create();
});

afterAll(async () => {
  await harness?.close();
});

describe('the built tree', () => {
  it('runs the chat command with plain node', () => {
    const version = execFileSync(process.execPath, [path.join(DIST, 'chat.js'), '--version'], {
      encoding: 'utf8',
    });
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(version.trim()).toBe(pkg.version);
  });

  it("runs the Docker image's command: it answers, passes the health check, stops on SIGTERM", async () => {
    harness.respond = (request) => reply.text(`built: ${lastUserText(request)}`);
    const [command, ...args] = dockerCommand('CMD');
    expect(command).toBe('node');
    const child = spawn(process.execPath, args, {
      env: harness.env({ HEALTH_PORT: '0' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await eventually(() => /"healthPort":\d+/.test(stdout), 'the start', 45_000);
      const port = Number(/"healthPort":(\d+)/.exec(stdout)?.[1]);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', receiving: true, workers: true });
      // The image's HEALTHCHECK command, as Docker would run it.
      const [checker, ...checkArgs] = dockerCommand('HEALTHCHECK');
      expect(checker).toBe('node');
      execFileSync(process.execPath, checkArgs, {
        env: { ...process.env, HEALTH_PORT: String(port) },
      });

      const chatId = 8101;
      harness.api.pushUpdate(textMessageUpdate({ chatId, text: 'from dist', from: ALLOWED_USER }));
      await eventually(
        () => harness.api.sentMessages(chatId).some((m) => m.text === 'built: from dist'),
        'the answer',
        45_000,
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
