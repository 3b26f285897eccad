import path from 'node:path';
import type {
  CanUseTool,
  HookCallback,
  HookJSONOutput,
  Options,
} from '@anthropic-ai/claude-agent-sdk';
import type { AgentPolicy } from '../../config/agent-config.js';
import { errorMessage } from '../../domain/errors.js';
import { SEND_FILE_TOOL_NAME } from '../../domain/outgoing-file.js';
import type { TurnInteraction } from '../../domain/person-questions.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import { checkPath, checkPattern, type PathRoot } from './tool-policy-paths.js';
import { shellSandboxSettings } from './tool-policy-sandbox.js';
import { checkFetchUrl, dnsLookup, domainAllowed, type HostLookup } from './tool-policy-web.js';
import { ASK_USER_QUESTION, answerUserQuestions, approveToolCall } from './user-questions.js';

/**
 * A refusal with `approval` is a call the policy marks `ask`: it runs if the
 * person approves it in the chat, and stays refused where nobody can be asked.
 */
export type ToolDecision =
  | { allow: true }
  | { allow: false; reason: string; approval?: { key: string } | undefined };

/** Where one turn's file tools may go. */
export interface ToolScope {
  /** The conversation's working directory: read and write. */
  workspace: string;
  /** Directories the file tools may read but not write (the skills). */
  readOnly: readonly string[];
}

const FILE_READ_TOOLS = ['Read', 'Glob', 'Grep'] as const;
const FILE_WRITE_TOOLS = ['Write', 'Edit', 'NotebookEdit'] as const;
/** Tools that only reach what the configuration put there: subagents, skills, deferred tool loading. */
const CORE_TOOLS = ['Agent', 'ToolSearch'] as const;

const FILE_PATH_FIELD: Record<string, string> = {
  Read: 'file_path',
  Write: 'file_path',
  Edit: 'file_path',
  NotebookEdit: 'notebook_path',
};

/**
 * The agent's tool policy, from `policy.json`, enforced in the parent
 * process: Claude Code asks a PreToolUse hook about every tool call (the
 * main agent's and the subagents', including calls that would not prompt),
 * and the hook answers from here. A refusal goes back to the model as the
 * tool's error, with the reason.
 *
 * Built-in tools are an allow list: a tool Claude Code adds in a later
 * version is neither offered nor allowed until this file names it. MCP tools
 * are allowed, since the operator chose their servers in `mcp.json`; the
 * runtime's own send_file tool reads files and follows the file tools' rule.
 */
export class ToolPolicy {
  private readonly tools: AgentPolicy['tools'];
  private readonly lookup: HostLookup;

  constructor(policy: AgentPolicy, options: { lookup?: HostLookup } = {}) {
    this.tools = policy.tools;
    this.lookup = options.lookup ?? dnsLookup;
  }

  /** The built-in tools to offer the model (the SDK's `tools` option). */
  builtInTools(options: { skills: boolean; askPerson?: boolean }): string[] {
    const { files, shell, web } = this.tools;
    return [
      ...CORE_TOOLS,
      // Only where someone can answer: headless, Claude Code answers it with nothing.
      ...(options.askPerson ? [ASK_USER_QUESTION] : []),
      ...(options.skills ? ['Skill'] : []),
      ...(files !== 'off' ? FILE_READ_TOOLS : []),
      ...(files === 'read-write' ? FILE_WRITE_TOOLS : []),
      ...(shell.enabled ? ['Bash'] : []),
      ...(web.fetch ? ['WebFetch'] : []),
      ...(web.search ? ['WebSearch'] : []),
    ];
  }

  /** Whether `toolName` may run with `input` in `scope`, and if not, why. */
  async evaluate(toolName: string, input: unknown, scope: ToolScope): Promise<ToolDecision> {
    const args = (typeof input === 'object' && input !== null ? input : {}) as Record<
      string,
      unknown
    >;
    if (toolName === SEND_FILE_TOOL_NAME) return this.sendFileTool(args.path, scope);
    if (toolName.startsWith('mcp__')) return this.mcpTool(toolName);
    if ((CORE_TOOLS as readonly string[]).includes(toolName) || toolName === 'Skill') return ALLOW;
    try {
      switch (toolName) {
        case 'Read':
        case 'Write':
        case 'Edit':
        case 'NotebookEdit':
          return await this.fileTool(
            toolName,
            args[FILE_PATH_FIELD[toolName] ?? 'file_path'],
            scope,
          );
        case 'Glob':
          return await this.searchTool(toolName, args.path, args.pattern, scope);
        case 'Grep':
          return await this.searchTool(toolName, args.path, args.glob, scope);
        case 'Bash':
          return this.shell(args);
        case 'WebFetch':
          return await this.webFetch(args.url);
        case 'WebSearch':
          return this.tools.web.search ? ALLOW : deny('web search is turned off for this agent');
        default:
          return deny(`${toolName} is not enabled by this agent's tool policy`);
      }
    } catch (error) {
      return deny(`the call could not be checked: ${errorMessage(error)}`);
    }
  }

  /**
   * SDK options that put the policy in force for one turn: the tools
   * offered, the PreToolUse hook, the same check as `canUseTool` should
   * Claude Code still want to ask, and the shell's sandbox.
   */
  queryOptions(turn: {
    scope: ToolScope;
    configDir: string;
    skills: boolean;
    /** Claude Code runs in the whole-process sandbox (bubblewrap); see shellSandboxSettings. */
    insideSandbox?: boolean;
    logger?: Logger;
    /** Asks the person in the chat: AskUserQuestion and calls set to `ask` (user-questions.ts). */
    interaction?: TurnInteraction | undefined;
    /** Values never shown in an approval (redact-input.ts). */
    secrets?: readonly string[];
    /** Ends a wait for the person (the turn is stopped). */
    signal?: AbortSignal | undefined;
  }): Pick<Options, 'tools' | 'hooks' | 'canUseTool' | 'permissionMode' | 'sandbox'> {
    const logger = turn.logger ?? silentLogger;
    const decide = async (
      toolName: string,
      input: unknown,
      scope: ToolScope = turn.scope,
    ): Promise<ToolDecision> => {
      const decision = await this.evaluate(toolName, input, scope);
      if (!decision.allow && !(decision.approval && turn.interaction)) {
        logger.info('tool call denied by policy', { tool: toolName, reason: decision.reason });
      }
      return decision;
    };
    const hook: HookCallback = async (input): Promise<HookJSONOutput> => {
      if (input.hook_event_name !== 'PreToolUse') return {};
      // The person's answer is awaited in canUseTool, which has no hook timeout.
      const askThePerson: HookJSONOutput = {
        hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'ask' },
      };
      if (input.tool_name === ASK_USER_QUESTION && turn.interaction) return askThePerson;
      const decision = await decide(input.tool_name, input.tool_input, {
        ...turn.scope,
        readOnly: [...turn.scope.readOnly, ...toolResultsDir(input.transcript_path)],
      });
      if (!decision.allow && decision.approval && turn.interaction) return askThePerson;
      return {
        hookSpecificOutput: {
          hookEventName: 'PreToolUse',
          permissionDecision: decision.allow ? 'allow' : 'deny',
          ...(decision.allow ? {} : { permissionDecisionReason: decision.reason }),
        },
      };
    };
    const canUseTool: CanUseTool = async (toolName, input, options) => {
      const { interaction } = turn;
      const signal = turn.signal ? AbortSignal.any([turn.signal, options.signal]) : options.signal;
      if (toolName === ASK_USER_QUESTION && interaction) {
        return answerUserQuestions(input, interaction, signal);
      }
      let decision = await decide(toolName, input);
      if (!decision.allow && decision.approval && interaction) {
        decision = await approveToolCall({
          toolName,
          input,
          key: decision.approval.key,
          interaction,
          secrets: turn.secrets ?? [],
          signal,
        });
        logger.info('tool call put to the person', { tool: toolName, allowed: decision.allow });
      }
      return decision.allow
        ? { behavior: 'allow', updatedInput: input }
        : { behavior: 'deny', message: decision.reason };
    };
    const { shell } = this.tools;
    return {
      tools: this.builtInTools({ skills: turn.skills, askPerson: turn.interaction !== undefined }),
      // A failing hook blocks the call rather than letting it through.
      hooks: { PreToolUse: [{ hooks: [hook], onFailure: 'block' }] },
      canUseTool,
      // Never 'auto' (a classifier calling the model) or a bypass: the hook decides.
      permissionMode: 'default',
      ...(shell.enabled && shell.sandboxed
        ? {
            sandbox: shellSandboxSettings({
              workspace: turn.scope.workspace,
              configDir: turn.configDir,
              readOnly: turn.scope.readOnly,
              allowedDomains: shell.allowedDomains,
              nested: turn.insideSandbox ?? false,
            }),
          }
        : {}),
    };
  }

  private roots(scope: ToolScope): PathRoot[] {
    return [
      { path: scope.workspace, writable: true },
      ...scope.readOnly.map((dir) => ({ path: dir, writable: false })),
    ];
  }

  private async fileTool(toolName: string, file: unknown, scope: ToolScope): Promise<ToolDecision> {
    const writes = (FILE_WRITE_TOOLS as readonly string[]).includes(toolName);
    const { files } = this.tools;
    if (files === 'off' || (writes && files !== 'read-write')) {
      return deny(
        writes
          ? 'writing files is turned off for this agent'
          : 'file tools are turned off for this agent',
      );
    }
    const checked = await checkPath(
      file,
      writes ? 'write' : 'read',
      scope.workspace,
      this.roots(scope),
    );
    return checked.ok ? ALLOW : deny(checked.reason);
  }

  /**
   * The runtime's own send_file tool (send-file-tool.ts) reads a file to send
   * it: the file tools' rule, workspace only (not the read-only skills).
   */
  private async sendFileTool(file: unknown, scope: ToolScope): Promise<ToolDecision> {
    if (this.tools.files === 'off') return deny('file tools are turned off for this agent');
    try {
      const checked = await checkPath(file, 'read', scope.workspace, [
        { path: scope.workspace, writable: true },
      ]);
      return checked.ok ? ALLOW : deny(checked.reason);
    } catch (error) {
      return deny(`the call could not be checked: ${errorMessage(error)}`);
    }
  }

  private async searchTool(
    toolName: string,
    dir: unknown,
    pattern: unknown,
    scope: ToolScope,
  ): Promise<ToolDecision> {
    if (this.tools.files === 'off') return deny('file tools are turned off for this agent');
    const checked = await checkPath(dir ?? '.', 'read', scope.workspace, this.roots(scope));
    if (!checked.ok) return deny(checked.reason);
    const patternChecked = checkPattern(pattern);
    return patternChecked.ok ? ALLOW : deny(`${toolName}: ${patternChecked.reason}`);
  }

  private shell(args: Record<string, unknown>): ToolDecision {
    const { shell } = this.tools;
    if (!shell.enabled) return deny('the shell is turned off for this agent');
    if (shell.sandboxed && args.dangerouslyDisableSandbox === true) {
      return deny(
        'commands cannot leave the sandbox; run the command without dangerouslyDisableSandbox',
      );
    }
    if (shell.commands === 'ask') {
      const command = typeof args.command === 'string' ? args.command : '';
      // "Always" allows this very command again, not everything the shell can do.
      return needsApproval('shell commands need the approval of the person in the chat', {
        key: `Bash:${command}`,
      });
    }
    return ALLOW;
  }

  private mcpTool(toolName: string): ToolDecision {
    const server = toolName.split('__')[1] ?? '';
    const rules = this.tools.mcp ?? {};
    const rule = rules[toolName] ?? rules[`mcp__${server}__*`] ?? 'allow';
    if (rule === 'deny') return deny(`${toolName} is turned off for this agent`);
    if (rule === 'ask') {
      return needsApproval(`${toolName} needs the approval of the person in the chat`, {
        key: toolName,
      });
    }
    return ALLOW;
  }

  private async webFetch(url: unknown): Promise<ToolDecision> {
    const { web } = this.tools;
    if (!web.fetch) return deny('fetching web pages is turned off for this agent');
    if (web.otherHosts === 'ask' && web.allowedDomains) {
      // Private addresses and odd schemes stay refused; only the list is the person's to widen.
      const safe = await checkFetchUrl(url, undefined, this.lookup);
      if (!safe.ok) return deny(safe.reason);
      const host = new URL(String(url)).hostname.replace(/^\[|\]$/g, '').toLowerCase();
      if (!domainAllowed(host, web.allowedDomains)) {
        return needsApproval(`${host} is not among the sites this agent may fetch on its own`, {
          key: `WebFetch:${host}`,
        });
      }
      return ALLOW;
    }
    const checked = await checkFetchUrl(url, web.allowedDomains, this.lookup);
    return checked.ok ? ALLOW : deny(checked.reason);
  }
}

const ALLOW: ToolDecision = { allow: true };

function deny(reason: string): ToolDecision {
  return { allow: false, reason: `Denied by the agent's tool policy: ${reason}.` };
}

/** Refused unless the person approves it (where someone can be asked). */
function needsApproval(reason: string, approval: { key: string }): ToolDecision {
  const refused = deny(`${reason}, and nobody could be asked`) as { allow: false; reason: string };
  return { ...refused, approval };
}

/**
 * Where Claude Code saves a tool result too large to hand the model, which
 * it then tells the model to Read: `<transcript without .jsonl>/tool-results`.
 * The transcript path comes from Claude Code with each hook call (subagents
 * get the main session's), never from the model.
 */
function toolResultsDir(transcriptPath: unknown): string[] {
  if (typeof transcriptPath !== 'string' || !transcriptPath.endsWith('.jsonl')) return [];
  return [path.join(transcriptPath.slice(0, -'.jsonl'.length), 'tool-results')];
}

/** The skills directories the file tools may read: the plugin's link and its target. */
export function skillReadRoots(
  skillsPlugin: string | undefined,
  skillsDir: string | null,
): string[] {
  return [
    ...(skillsPlugin ? [path.join(skillsPlugin, 'skills')] : []),
    ...(skillsDir ? [skillsDir] : []),
  ];
}
