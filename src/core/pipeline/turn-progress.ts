import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';

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
      if (parent) line = `${this.subagents.get(parent) ?? 'subagent'} › ${line}`;
      // The same step again (reading a file in pieces) says nothing new.
      if (this.recent.at(-1) === line) continue;
      this.recent.push(line);
      if (this.recent.length > this.maxLines) this.recent.shift();
      added = true;
    }
    return added;
  }

  /** The latest lines, oldest first. */
  lines(): string[] {
    return [...this.recent];
  }
}

/** One short, human-readable line for a tool call. */
export function describeToolUse(name: string, input: unknown): string {
  const field = (key: string): string | undefined => {
    const value = isRecord(input) ? input[key] : undefined;
    return typeof value === 'string' && value.trim() ? value : undefined;
  };
  if (name.startsWith('mcp__')) {
    const rest = name.slice('mcp__'.length);
    const split = rest.indexOf('__');
    if (split > 0) {
      return `Calling ${clip(rest.slice(0, split), MAX_NAME)}: ${clip(rest.slice(split + 2), MAX_NAME)}`;
    }
    return `Calling ${clip(rest, MAX_NAME)}`;
  }
  switch (name) {
    case 'Read':
      return withFile('Reading', field('file_path'), 'a file');
    case 'Write':
      return withFile('Writing', field('file_path'), 'a file');
    case 'Edit':
    case 'MultiEdit':
      return withFile('Editing', field('file_path'), 'a file');
    case 'NotebookEdit':
      return withFile('Editing', field('notebook_path'), 'a notebook');
    case 'LS':
      return withFile('Listing', field('path'), 'a folder');
    case 'Glob': {
      const pattern = field('pattern');
      return pattern ? `Looking for files: ${clip(pattern)}` : 'Looking for files';
    }
    case 'Grep': {
      const pattern = field('pattern');
      return pattern ? `Searching files for "${clip(pattern)}"` : 'Searching files';
    }
    case 'Bash': {
      // The command itself may carry anything (a token in a header); the model's own summary does not.
      const description = field('description');
      return description ? `Running a command: ${clip(description)}` : 'Running a command';
    }
    case 'WebSearch': {
      const query = field('query');
      return query ? `Searching the web for "${clip(query)}"` : 'Searching the web';
    }
    case 'WebFetch':
      return `Fetching ${hostOf(field('url')) ?? 'a web page'}`;
    case 'Agent':
    case 'Task':
      return `Asking the ${subagentName(input)} subagent`;
    case 'Skill': {
      const skill = field('skill');
      // Skills from a plugin are named `<plugin>:<skill>`; people know them by the skill's name.
      return skill
        ? `Using the ${clip(skill.slice(skill.lastIndexOf(':') + 1), MAX_NAME)} skill`
        : 'Using a skill';
    }
    case 'TodoWrite': {
      const todos = isRecord(input) && Array.isArray(input.todos) ? input.todos : [];
      const current = todos.find(
        (todo): todo is { activeForm: string } =>
          isRecord(todo) && todo.status === 'in_progress' && typeof todo.activeForm === 'string',
      );
      return current ? clip(current.activeForm) : 'Updating the plan';
    }
    default:
      return `Using ${clip(name, MAX_NAME)}`;
  }
}

function isAgentTool(name: string): boolean {
  return name === 'Agent' || name === 'Task';
}

function subagentName(input: unknown): string {
  const type = isRecord(input) ? input.subagent_type : undefined;
  return typeof type === 'string' && type.trim() ? clip(type, MAX_NAME) : 'general-purpose';
}

function withFile(verb: string, path: string | undefined, fallback: string): string {
  const name = path ? baseName(path) : '';
  return `${verb} ${name ? clip(name) : fallback}`;
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
