import type { Options, SessionStore } from '@anthropic-ai/claude-agent-sdk';
import type { AgentConfig } from '../../config/agent-config.js';
import { SEND_FILE_SERVER } from '../../domain/outgoing-file.js';
import type { TurnInteraction } from '../../domain/person-questions.js';
import type { Logger } from '../../ports/logger.js';
import { agentEnvironment } from './agent-environment.js';
import type { TurnFileStaging } from './file-staging.js';
import type { ModelAccess } from './model-access.js';
import { claudeCodeSpawner, type ProcessSandbox } from './process-sandbox.js';
import { configuredSecrets } from './redact-input.js';
import { createSendFileServer } from './send-file-tool.js';
import { SKILLS_PLUGIN_NAME } from './skills-plugin.js';
import { skillReadRoots, type ToolPolicy } from './tool-policy.js';

/** What the runtime holds for every turn. */
export interface RuntimeSetup {
  config: AgentConfig;
  modelAccess: ModelAccess;
  /** Model id or alias; Claude Code's default when unset. */
  model: string | undefined;
  /** Claude Code's own retries of a failing model call (model-failure.ts). */
  maxRetries: number;
  toolPolicy: ToolPolicy;
  /** The skills plugin's directory, once laid out (skills-plugin.ts). */
  skillsPlugin: string | undefined;
  processSandbox: ProcessSandbox | undefined;
  logger: Logger;
}

/** What is particular to one turn. */
export interface TurnSetup {
  cwd: string;
  configDir: string;
  resume: string | undefined;
  resumeAt: string | undefined;
  store: SessionStore;
  abort: AbortController;
  grantEnv: Record<string, string>;
  maxBudgetUsd: number;
  staging?: TurnFileStaging | undefined;
  interaction?: TurnInteraction | undefined;
}

/** The SDK `query()` options of one turn. */
export function queryOptions(runtime: RuntimeSetup, turn: TurnSetup): Options {
  const { config, skillsPlugin, processSandbox, logger } = runtime;
  const skills = skillsPlugin
    ? config.skills.map((skill) => `${SKILLS_PLUGIN_NAME}:${skill.name}`)
    : [];
  return {
    cwd: turn.cwd,
    resume: turn.resume,
    ...(turn.resumeAt && { resumeSessionAt: turn.resumeAt }),
    sessionStore: turn.store,
    abortController: turn.abort,
    env: agentEnvironment({
      configDir: turn.configDir,
      modelEnv: turn.grantEnv,
      path: process.env.PATH,
      mcpTimeoutMs: config.policy.mcpConnectTimeoutMs,
      maxRetries: runtime.maxRetries,
    }),
    model: runtime.model,
    systemPrompt: config.systemPrompt,
    agents: config.agents,
    mcpServers: {
      ...config.mcpServers,
      // In this process: it copies a workspace file for the answer to take along.
      ...(turn.staging && {
        [SEND_FILE_SERVER]: createSendFileServer({ workspace: turn.cwd, staging: turn.staging }),
      }),
    },
    // Over stdin, not the command line, where any process could read their headers and env.
    mcpServersDelivery: 'initialize',
    plugins: skillsPlugin ? [{ type: 'local', path: skillsPlugin }] : [],
    // Only the agent directory's skills; Claude Code's bundled ones are not for a chat.
    skills,
    ...runtime.toolPolicy.queryOptions({
      scope: {
        workspace: turn.cwd,
        readOnly: skillReadRoots(skillsPlugin, config.skillsDir),
      },
      configDir: turn.configDir,
      skills: skills.length > 0,
      insideSandbox: processSandbox?.kind === 'bubblewrap',
      logger,
      // AskUserQuestion and approvals of tools set to `ask` (user-questions.ts).
      interaction: turn.interaction,
      secrets: approvalSecrets(runtime),
      signal: turn.abort.signal,
    }),
    maxTurns: config.policy.maxTurns,
    maxBudgetUsd: turn.maxBudgetUsd,
    // No settings files from the machine: the agent directory is the whole configuration.
    settingSources: [],
    // The model's text as it is written (stream_event messages to onMessage): answer drafts.
    includePartialMessages: true,
    stderr: (data) => logger.debug('claude code stderr', { data: data.trimEnd() }),
    ...(processSandbox && {
      spawnClaudeCodeProcess: claudeCodeSpawner(processSandbox, {
        readWrite: [turn.cwd, turn.configDir],
        readOnly: [
          config.dir,
          ...(skillsPlugin ? [skillsPlugin] : []),
          ...(config.skillsDir ? [config.skillsDir] : []),
        ],
        mcpServers: config.mcpServers,
        onStderr: (data) => logger.debug('claude code stderr', { data: data.trimEnd() }),
      }),
    }),
  };
}

/** What an approval must never show: the configured secrets and the model key (redact-input.ts). */
function approvalSecrets(runtime: RuntimeSetup): string[] {
  const { config, modelAccess } = runtime;
  return [
    ...configuredSecrets(config.mcpServers),
    ...(modelAccess.provider === 'anthropic' ? [modelAccess.apiKey] : []),
  ];
}
