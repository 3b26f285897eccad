#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { config as loadDotenv } from 'dotenv';
import { AgentConfigError } from '../config/agent-config.js';
import { loadRuntimeSettings } from '../config/runtime-settings.js';
import { SettingsError } from '../config/settings-error.js';
import { discardStagedFiles } from '../core/pipeline/staged-files.js';
import { TurnProgress } from '../core/pipeline/turn-progress.js';
import type { ConversationRef } from '../domain/conversation.js';
import { errorMessage } from '../domain/errors.js';
import { stagedFilePart } from '../domain/outgoing-file.js';
import { texts } from '../texts/en.js';
import { composeLocalRuntime } from './compose-runtime.js';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';

/**
 * Terminal chat with the agent, on the embedded store. Interactive on a TTY;
 * with piped input, each line is one message and each reply goes to standard
 * output, so it can be scripted. The conversation persists: quit and start
 * again to continue it; `/new` starts a fresh session.
 */

const HELP = texts.terminal.help;

const USAGE = `Usage: agent-chat [--chat <id>] [--help] [--version]
   or: npm run chat -- [--chat <id>] [--help] [--version]`;

const HELP_TEXT = `${USAGE}

Talk to the agent in the terminal, on the local store. On a terminal it is
interactive; with piped input each line is one message and each answer is
written to standard output. The conversation persists: run it again to go on.

Options:
  --chat <id>   the conversation to talk in (default: "default"); each id is
                its own conversation with its own history
  -h, --help    show this help and exit
  --version     print the version and exit

${HELP}
Settings come from the environment or .env (see .env.example).
`;

type CommandLine =
  | { kind: 'run'; chatId: string }
  | { kind: 'exit'; code: number; stdout?: string; stderr?: string };

/** Reads the flags; anything it does not know is an error, not silently ignored. */
function readCommandLine(args: string[]): CommandLine {
  let values: { chat?: string; help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        chat: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }));
  } catch (error) {
    // parseArgs's advice about positionals does not apply to a command that takes none.
    const message = errorMessage(error).split(/\.(?:\s|$)/)[0];
    return { kind: 'exit', code: EXIT_USAGE, stderr: `agent-chat: ${message}\n${USAGE}\n` };
  }
  if (values.help) return { kind: 'exit', code: EXIT_OK, stdout: HELP_TEXT };
  if (values.version) return { kind: 'exit', code: EXIT_OK, stdout: `${packageVersion()}\n` };
  if (values.chat === '') {
    return {
      kind: 'exit',
      code: EXIT_USAGE,
      stderr: `agent-chat: --chat needs a conversation id\n${USAGE}\n`,
    };
  }
  return { kind: 'run', chatId: values.chat ?? 'default' };
}

/** The version in package.json, two levels up both from src/entrypoints and dist/entrypoints. */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return String((JSON.parse(text) as { version?: unknown }).version);
}

async function main(): Promise<number> {
  const commandLine = readCommandLine(process.argv.slice(2));
  if (commandLine.kind === 'exit') {
    if (commandLine.stdout) process.stdout.write(commandLine.stdout);
    if (commandLine.stderr) process.stderr.write(commandLine.stderr);
    return commandLine.code;
  }
  loadDotenv({ quiet: true });

  const settings = loadRuntimeSettings(process.env);
  const local = await composeLocalRuntime(settings, process.env);
  await local.sweepExpired();
  const conversation: ConversationRef = {
    tenant: 'local',
    channel: 'terminal',
    chatId: commandLine.chatId,
  };
  const interactive = process.stdin.isTTY === true;
  const lines = createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
  });
  // readline draws the prompt itself, so what the user types stays on its line.
  lines.setPrompt(texts.terminal.you);
  const prompt = () => {
    if (interactive) lines.prompt();
  };

  // Ctrl-C during a turn stops the turn; at the prompt it quits.
  let running: AbortController | undefined;
  process.on('SIGINT', () => {
    if (running) running.abort();
    else lines.close();
  });

  if (interactive) process.stdout.write(`${texts.terminal.greeting(settings.agentDir)}\n`);
  prompt();
  try {
    for await (const raw of lines) {
      const line = raw.trim();
      if (!line) {
        prompt();
        continue;
      }
      if (line === '/quit' || line === '/exit') break;
      if (line === '/help') {
        process.stdout.write(`${HELP}\n`);
        prompt();
        continue;
      }
      if (line === '/new') {
        await local.runtime.resetConversation(conversation);
        process.stdout.write(`${texts.terminal.newSession}\n`);
        prompt();
        continue;
      }
      running = new AbortController();
      const result = await local.runtime.runTurn({
        conversation,
        prompt: line,
        signal: running.signal,
        onMessage: interactive ? progressPrinter() : undefined,
      });
      running = undefined;
      const answer =
        result.outcome === 'success'
          ? result.text
          : (result.errorMessage ?? texts.terminal.unfinished);
      process.stdout.write(interactive ? `${texts.terminal.agent}${answer}\n\n` : `${answer}\n`);
      // A terminal has nowhere to upload to: the files stay in the working directory.
      for (const file of result.files ?? []) {
        process.stdout.write(`${texts.terminal.fileSent(file.name)}\n`);
      }
      await discardStagedFiles((result.files ?? []).map(stagedFilePart));
      prompt();
    }
  } finally {
    lines.close();
    await local.close();
  }
  return EXIT_OK;
}

/**
 * On a terminal, say what the agent is doing while it works, in the same words
 * the Telegram status message uses (on stderr, so piped output stays answers only).
 */
function progressPrinter(): (message: SDKMessage) => void {
  const progress = new TurnProgress(1);
  return (message) => {
    if (progress.add(message)) process.stderr.write(`  … ${progress.lines().at(-1)}\n`);
  };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (SettingsError.isInstance(error) || AgentConfigError.isInstance(error)) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = EXIT_CONFIG;
      return;
    }
    process.stderr.write(
      `chat failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = EXIT_FAILURE;
  },
);
