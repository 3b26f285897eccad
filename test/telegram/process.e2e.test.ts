import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { textMessageUpdate } from '../support/fake-bot-api.js';
import { lastUserText, reply } from '../support/scripted-model-server.js';
import { descendants, eventually, startServer, stopProcess } from '../support/server-process.js';
import { ALLOWED_USER, TelegramHarness } from '../support/telegram-harness.js';

// `npm start` as a real process: settings from the environment, killed with
// SIGKILL in the middle of a turn and started again.

let harness: TelegramHarness;

beforeAll(async () => {
  harness = await TelegramHarness.create();
});

afterAll(async () => {
  await harness.close();
});

describe('local server process', () => {
  it('refuses to start on invalid settings, naming each of them', async () => {
    const { exited, output } = startServer({
      PATH: process.env.PATH ?? '',
      DATA_DIR: harness.dataDir,
      TELEGRAM_BOT_TOKEN: 'nonsense',
      WORKER_CONCURRENCY: 'lots',
      TELEGRAM_ALLOWED_CHAT_IDS: 'my-group',
    });
    expect(await exited).toBe(78);
    for (const name of [
      'TELEGRAM_BOT_TOKEN',
      'WORKER_CONCURRENCY',
      'TELEGRAM_ALLOWED_CHAT_IDS',
      'ANTHROPIC_API_KEY',
    ]) {
      expect(output.stderr).toContain(`${name}:`);
    }
    expect(output.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
  });

  it('killed mid-turn and started again, answers that message exactly once', async () => {
    const chatId = 8001;
    let slow = true;
    harness.respond = (request) => {
      const text = lastUserText(request);
      return slow && text.includes('survive')
        ? reply.text('answer from the killed run', { delayMs: 30_000 })
        : reply.text(`echo: ${text}`);
    };
    // Answers only: on a slow machine the killed run may have shown its
    // "Working on it…" status before it died, and nobody is left to delete it.
    const answers = () =>
      harness.api
        .sentMessages(chatId)
        .filter((message) => !message.text?.startsWith('Working on it'));
    const first = startServer(harness.env());
    harness.api.pushUpdate(
      textMessageUpdate({ chatId, text: 'please survive a crash', from: ALLOWED_USER }),
    );
    await eventually(
      () => harness.turnsAsking('survive').length === 1,
      'the turn to reach the model',
    );
    // SIGKILL leaves the agent's Claude Code process orphaned, waiting on a
    // gateway that died with the server; end it ourselves once the test is done.
    const orphans = descendants(first.child.pid ?? -1);
    await stopProcess(first.child, 'SIGKILL');
    expect(answers()).toHaveLength(0);
    onTestFinished(() => {
      for (const pid of orphans) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });

    slow = false;
    const second = startServer(harness.env());
    try {
      await harness.api.waitFor(() => answers().length >= 1, 60_000, 'the answer after restart');
      // A later message is answered too, and only then do we check nothing came twice.
      harness.api.pushUpdate(textMessageUpdate({ chatId, text: 'and after', from: ALLOWED_USER }));
      await harness.api.waitFor(() => answers().length >= 2, 60_000, 'the next answer');
      expect(answers().map((message) => message.text)).toEqual([
        'echo: please survive a crash',
        'echo: and after',
      ]);
      expect(second.output.stdout).toContain('resuming messages interrupted by the previous run');
    } finally {
      await stopProcess(second.child, 'SIGTERM');
    }
    expect(await second.exited).toBe(0);
  });

  it('says within seconds that the Bot API is unreachable, keeps trying, and stops on SIGTERM', async () => {
    const closedPort = await freePort();
    const { child, output, exited } = startServer(
      harness.env({ TELEGRAM_API_ROOT: `http://127.0.0.1:${closedPort}` }),
    );
    try {
      await eventually(
        () => output.stdout.includes('cannot reach the Telegram Bot API'),
        'the unreachable line',
        20_000,
      );
      // And it keeps trying (a second attempt, after a short backoff).
      await eventually(
        () => output.stdout.split('cannot reach the Telegram Bot API').length > 2,
        'a second attempt',
        20_000,
      );
      expect(output.stdout).toContain('ECONNREFUSED');
      // The URL holds the token: it never reaches the log.
      expect(output.stdout).not.toContain(harness.api.token);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await bounded(exited, 20_000)).toBe(0);
  });

  it('SIGTERM mid-turn with Telegram unreachable ends the process, and the message is answered after restart', async () => {
    const chatId = 8002;
    let slow = true;
    harness.respond = (request) => {
      const text = lastUserText(request);
      return slow && text.includes('cut off')
        ? reply.text('answer nobody can deliver', { delayMs: 5_000 })
        : reply.text(`echo: ${text}`);
    };
    const proxy = await cuttableProxy(new URL(harness.api.apiRoot).port);
    const first = startServer(harness.env({ TELEGRAM_API_ROOT: `http://127.0.0.1:${proxy.port}` }));
    harness.api.pushUpdate(
      textMessageUpdate({ chatId, text: 'while telegram is cut off', from: ALLOWED_USER }),
    );
    await eventually(() => harness.turnsAsking('cut off').length === 1, 'the turn to start');
    proxy.cut();
    // Let the turn end and its delivery hit the dead network before the signal.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    first.child.kill('SIGTERM');
    // A graceful stop (0): the send to the dead network was aborted, the turn released.
    expect(await bounded(first.exited, 20_000)).toBe(0);
    const answers = () =>
      harness.api
        .sentMessages(chatId)
        .filter((message) => !message.text?.startsWith('Working on it'));
    expect(answers()).toHaveLength(0);

    slow = false;
    const second = startServer(harness.env());
    try {
      await harness.api.waitFor(() => answers().length >= 1, 60_000, 'the answer after restart');
      expect(answers()).toHaveLength(1);
    } finally {
      await stopProcess(second.child, 'SIGTERM');
    }
  });
});

/** Resolves with the promise's value, or fails the test if it takes longer than `ms`. */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP proxy to the fake Bot API whose `cut()` makes Telegram unreachable, like a network outage. */
async function cuttableProxy(targetPort: string): Promise<{ port: number; cut(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(targetPort), '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
