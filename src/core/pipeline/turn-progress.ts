import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { SEND_FILE_TOOL_NAME } from '../../domain/outgoing-file.js';
import { texts } from '../../texts/en.js';

/**
 * Turns the SDK's message stream into short status lines for the chat
 * ("Reading notes.txt", "Searching the web for …"). Only tool calls count as
 * activity. A tool's input is never shown whole: file paths are cut to their
 * names, URLs to their hosts, shell commands not at all, and every value to a
 * few dozen characters, so neither a secret in a command nor a huge payload
 * reaches the chat.
 */

/** Longest piece of a tool's input a line quotes. */
const MAX_VALUE = 60;
/** Longest name (tool, server, subagent, skill) a line shows. */
const MAX_NAME = 40;

export class TurnProgress {
  private readonly recent: string[] = [];
  /** Agent tool calls seen so far, by tool_use id -> subagent name, to label what they do. */
  private readonly subagents = new Map<string, string>();

  constructor(private readonly maxLines = 3) {}

  /** Takes one SDK message; true when it added a line. */
  add(message: SDKMessage): boolean {
    if (message.type !== 'assistant') return false;
    const content: unknown = message.message?.content;
    if (!Array.isArray(content)) return false;
    const parent = message.parent_tool_use_id;
    let added = false;
    for (const block of content as Array<Record<string, unknown>>) {
      if (block?.type !== 'tool_use' || typeof block.name !== 'string') continue;
      if (isAgentTool(block.name) && typeof block.id === 'string') {
        this.subagents.set(block.id, subagentName(block.input));
      }
      let line = describeToolUse(block.name, block.input);
      if (parent) line = texts.activity.bySubagent(this.subagents.get(parent), line);
      // The same step again (reading a file in pieces) says nothing new.
      if (this.recent.at(-1) === line) continue;
      this.recent.push(line);
      if (this.recent.length > this.maxLines) this.recent.shift();
      added = true;
    }
    return added;
  }

  /** A step the worker takes itself ("Downloading report.pdf"); true when it added a line. */
  note(line: string): boolean {
    const clipped = clip(line, MAX_VALUE + MAX_NAME);
    if (this.recent.at(-1) === clipped) return false;
    this.recent.push(clipped);
    if (this.recent.length > this.maxLines) this.recent.shift();
    return true;
  }

  /** The latest lines, oldest first. */
  lines(): string[] {
    return [...this.recent];
  }
}

/** One short, human-readable line for a tool call. */
export function describeToolUse(name: string, input: unknown): string {
  const { activity } = texts;
  const field = (key: string): string | undefined => {
    const value = isRecord(input) ? input[key] : undefined;
    return typeof value === 'string' && value.trim() ? value : undefined;
  };
  // The runtime's own tool: what it sends, by the file's name.
  if (name === SEND_FILE_TOOL_NAME) return activity.sendingFile(fileName(field('path')));
  if (name.startsWith('mcp__')) {
    const rest = name.slice('mcp__'.length);
    const split = rest.indexOf('__');
    if (split > 0) {
      return activity.calling(
        clip(rest.slice(0, split), MAX_NAME),
        clip(rest.slice(split + 2), MAX_NAME),
      );
    }
    return activity.calling(clip(rest, MAX_NAME));
  }
  switch (name) {
    case 'Read':
      return activity.reading(fileName(field('file_path')));
    case 'Write':
      return activity.writing(fileName(field('file_path')));
    case 'Edit':
    case 'MultiEdit':
      return activity.editing(fileName(field('file_path')));
    case 'NotebookEdit':
      return activity.editingNotebook(fileName(field('notebook_path')));
    case 'LS':
      return activity.listing(fileName(field('path')));
    case 'Glob':
      return activity.findingFiles(shown(field('pattern')));
    case 'Grep':
      return activity.searchingFiles(shown(field('pattern')));
    case 'Bash':
      // The command itself may carry anything (a token in a header); the model's own summary does not.
      return activity.runningCommand(shown(field('description')));
    case 'WebSearch':
      return activity.searchingWeb(shown(field('query')));
    case 'WebFetch':
      return activity.fetching(hostOf(field('url')));
    case 'Agent':
    case 'Task':
      return activity.askingSubagent(subagentName(input));
    case 'Skill': {
      const skill = field('skill');
      // Skills from a plugin are named `<plugin>:<skill>`; people know them by the skill's name.
      return activity.usingSkill(shown(skill?.slice(skill.lastIndexOf(':') + 1), MAX_NAME));
    }
    case 'TodoWrite': {
      const todos = isRecord(input) && Array.isArray(input.todos) ? input.todos : [];
      const current = todos.find(
        (todo): todo is { activeForm: string } =>
          isRecord(todo) && todo.status === 'in_progress' && typeof todo.activeForm === 'string',
      );
      // The model's own words for the step in progress.
      return current ? clip(current.activeForm) : activity.updatingPlan;
    }
    default:
      return activity.usingTool(clip(name, MAX_NAME));
  }
}

function isAgentTool(name: string): boolean {
  return name === 'Agent' || name === 'Task';
}

function subagentName(input: unknown): string {
  const type = isRecord(input) ? input.subagent_type : undefined;
  return typeof type === 'string' && type.trim() ? clip(type, MAX_NAME) : 'general-purpose';
}

/** A value cut to one short line; undefined when there is none, or nothing is left of it. */
function shown(value: string | undefined, max = MAX_VALUE): string | undefined {
  return (value && clip(value, max)) || undefined;
}

/** Only the file's (or folder's) own name, never the path to it. */
function fileName(path: string | undefined): string | undefined {
  return path ? shown(baseName(path)) : undefined;
}

/** The last segment of a path, either separator. */
function baseName(path: string): string {
  const trimmed = path.replace(/[/\\]+$/, '');
  return trimmed.slice(Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\')) + 1);
}

/** Only the host: no credentials, path or query string. */
function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const host = new URL(url).hostname;
    return host ? clip(host) : undefined;
  } catch {
    return undefined;
  }
}

/** One line, no control characters, at most `max` characters. */
export function clip(value: string, max = MAX_VALUE): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const line = value.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ').trim();
  if (line.length <= max) return line;
  // Never cut a surrogate pair in half (an emoji would turn into garbage).
  const end = /[\ud800-\udbff]/.test(line.charAt(max - 2)) ? max - 2 : max - 1;
  return `${line.slice(0, end).trimEnd()}…`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
