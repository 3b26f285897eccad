#!/usr/bin/env node
import { createInterface } from 'node:readline';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { config as loadDotenv } from 'dotenv';
import { AgentConfigError } from '../config/agent-config.js';
import { loadRuntimeSettings } from '../config/runtime-settings.js';
import { SettingsError } from '../config/settings-error.js';
import { TurnProgress } from '../core/pipeline/turn-progress.js';
import type { ConversationRef } from '../domain/conversation.js';
import { composeLocalRuntime } from './compose-runtime.js';

/**
 * Terminal chat with the agent, on the embedded store. Interactive on a TTY;
 * with piped input, each line is one message and each reply goes to standard
 * output, so it can be scripted. The conversation persists: quit and start
 * again to continue it; `/new` starts a fresh session.
 */

const HELP = `Commands: /new starts a fresh session, /help shows this, /quit (or Ctrl-D) leaves.`;

async function main(): Promise<number> {
  loadDotenv({ quiet: true });
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      `Usage: chat [--chat <id>]\n\nTalk to the agent in the terminal. ${HELP}\nSettings come from the environment or .env (see .env.example).\n`,
    );
    return 0;
  }
  const chatFlag = args.indexOf('--chat');
  const chatId = chatFlag >= 0 ? args[chatFlag + 1] : undefined;
  if (chatFlag >= 0 && !chatId) {
    process.stderr.write('--chat needs a conversation id\n');
    return 2;
  }

  const settings = loadRuntimeSettings(process.env);
  const local = await composeLocalRuntime(settings, process.env);
  await local.sweepExpired();
  const conversation: ConversationRef = {
    tenant: 'local',
    channel: 'terminal',
    chatId: chatId ?? 'default',
  };
  const interactive = process.stdin.isTTY === true;
  const lines = createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
  });
  // readline draws the prompt itself, so what the user types stays on its line.
  lines.setPrompt('you> ');
  const prompt = () => {
    if (interactive) lines.prompt();
  };

  // Ctrl-C during a turn stops the turn; at the prompt it quits.
  let running: AbortController | undefined;
  process.on('SIGINT', () => {
    if (running) running.abort();
    else lines.close();
  });

  if (interactive)
    process.stdout.write(`Chatting with the agent in ${settings.agentDir}. ${HELP}\n`);
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
        process.stdout.write('Started a new session.\n');
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
          : (result.errorMessage ?? 'The turn did not finish.');
      process.stdout.write(interactive ? `agent> ${answer}\n\n` : `${answer}\n`);
      prompt();
    }
  } finally {
    lines.close();
    await local.close();
  }
  return 0;
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
    if (error instanceof SettingsError || AgentConfigError.isInstance(error)) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(
        `chat failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exitCode = 1;
  },
);
