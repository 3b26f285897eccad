#!/usr/bin/env node
import { config as loadDotenv } from 'dotenv';
import { GrammyError } from 'grammy';
import { AgentConfigError } from '../config/agent-config.js';
import { loadAppSettings } from '../config/app-settings.js';
import { SettingsError } from '../config/settings-error.js';
import type { Logger } from '../ports/logger.js';
import { EXIT_CONFIG, EXIT_FAILURE } from './exit-codes.js';
import { startLocalApp } from './local-app.js';

/**
 * `npm start`: the Telegram bot, queue, workers and agent in one process.
 * Settings come from the environment and an optional `.env` (see `.env.example`).
 * SIGINT/SIGTERM stop it gracefully: running turns are put back on the queue
 * and answered after the next start. A stop is bounded (SHUTDOWN_LIMIT_MS),
 * also while waiting for an unreachable Telegram; a second signal ends the
 * process at once. Either way nothing is lost: messages still leased in the
 * queue are resumed at the next start.
 */

const SHUTDOWN_LIMIT_MS = 15_000;
const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** JSON lines on standard output: one object per event, easy to grep and to ship. */
function jsonLogger(minimum: (typeof LEVELS)[number]): Logger {
  const threshold = LEVELS.indexOf(minimum);
  const write =
    (level: (typeof LEVELS)[number]) =>
    (message: string, ...extra: object[]) => {
      if (LEVELS.indexOf(level) < threshold) return;
      const line = Object.assign({ time: new Date().toISOString(), level, message }, ...extra);
      process.stdout.write(`${JSON.stringify(line)}\n`);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

async function main(): Promise<number> {
  loadDotenv({ quiet: true });
  let settings: ReturnType<typeof loadAppSettings>;
  try {
    settings = loadAppSettings(process.env);
  } catch (error) {
    if (SettingsError.isInstance(error)) {
      process.stderr.write(`${error.message}\n`);
      return EXIT_CONFIG;
    }
    throw error;
  }
  const logger = jsonLogger(settings.logLevel);

  // Signals count from the start: start-up may be waiting for Telegram.
  const stopRequested = new AbortController();
  const onSignal = (signal: string) => {
    if (stopRequested.signal.aborted) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(EXIT_FAILURE);
    }
    logger.info('shutting down', { signal });
    stopRequested.abort(new Error(`stopped by ${signal}`));
    setTimeout(() => {
      logger.error(
        'shutdown did not finish in time; exiting (unfinished messages resume at the next start)',
        {
          limitMs: SHUTDOWN_LIMIT_MS,
        },
      );
      process.exit(EXIT_FAILURE);
    }, SHUTDOWN_LIMIT_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let app: Awaited<ReturnType<typeof startLocalApp>>;
  try {
    app = await startLocalApp(settings, process.env, {
      signal: stopRequested.signal,
      logger,
      onFatal: (error) => {
        // Exit without confirming the update: Telegram sends it again after the restart.
        logger.error('fatal: stopping without confirming the last update', {
          error: String(error),
        });
        process.exit(EXIT_FAILURE);
      },
    });
  } catch (error) {
    if (stopRequested.signal.aborted) return 0;
    if (AgentConfigError.isInstance(error)) {
      process.stderr.write(`${error.message}\n`);
      return EXIT_CONFIG;
    }
    if (error instanceof GrammyError && error.error_code === 401) {
      process.stderr.write(
        'Invalid settings:\n  - TELEGRAM_BOT_TOKEN: Telegram rejected the token (401 Unauthorized)\n',
      );
      return EXIT_CONFIG;
    }
    throw error;
  }

  if (!stopRequested.signal.aborted) {
    await new Promise((resolve) =>
      stopRequested.signal.addEventListener('abort', resolve, { once: true }),
    );
  }
  await app.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(EXIT_FAILURE);
  },
);
