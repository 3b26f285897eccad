import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Options,
  type Query,
  query,
  type SDKMessage,
  type SDKResultMessage,
  type SDKSystemMessage,
  type SessionStore,
} from '@anthropic-ai/claude-agent-sdk';
import type { AgentConfig } from '../config/agent-config.js';
import type { ConversationIndex, ConversationRecord } from '../ports/conversation-index.js';
import { utcDay, VersionConflictError } from '../ports/conversation-index.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import { agentEnvironment } from './agent-environment.js';
import { type ConversationRef, conversationId } from './conversation.js';
import { type ModelAccess, modelEnvironment, upstreamFor } from './model-access.js';
import { ModelGateway } from './model-gateway.js';
import { ProjectKeyRecorder } from './project-key-recorder.js';
import { createSkillsPlugin, SKILLS_PLUGIN_NAME } from './skills-plugin.js';
import { skillReadRoots, ToolPolicy } from './tool-policy.js';
import type { TurnOutcome, TurnRequest, TurnResult, TurnRunner } from './turn.js';
import { ensureWorkspace } from './workspace.js';

export const DEFAULT_SESSION_TTL_MS = 25 * 24 * 60 * 60 * 1000;

/** How long a turn's end may wait for Claude Code to say why an MCP server is unavailable. */
const MCP_STATUS_WAIT_MS = 2_000;

const DAILY_BUDGET_MESSAGE =
  'This conversation has reached its spending limit for today. It resets at midnight UTC.';

export interface AgentRuntimeOptions {
  config: AgentConfig;
  /** Durable transcripts: the only state a turn leaves behind. */
  sessionStore: SessionStore;
  conversations: ConversationIndex;
  modelAccess: ModelAccess;
  /** Parent of the conversations' working directories. */
  workspaceRoot: string;
  /** Model id or alias; Claude Code's default when unset. */
  model?: string | undefined;
  /** Idle time after which a conversation starts a fresh session. Default 25 days. */
  sessionTtlMs?: number | undefined;
  /** Where per-turn config directories are made. Default: the OS temp dir. */
  tempRoot?: string | undefined;
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
}

/**
 * Runs agent turns on the Claude Agent SDK, each as if on a fresh container:
 * a new, empty `CLAUDE_CONFIG_DIR` per turn, deleted afterwards, so the
 * session store is the only thing that carries a conversation from one turn
 * to the next.
 */
export class AgentRuntime implements TurnRunner {
  private readonly gateway: ModelGateway;
  private readonly toolPolicy: ToolPolicy;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private started: Promise<void> | undefined;
  private skillsPlugin: string | undefined;

  constructor(private readonly options: AgentRuntimeOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.ttlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.gateway = new ModelGateway(upstreamFor(options.modelAccess), { logger: this.logger });
    this.toolPolicy = new ToolPolicy(options.config.policy);
  }

  /** Starts the model gateway and lays out the skills plugin; the first turn calls it if nobody did. */
  start(): Promise<void> {
    this.started ??= (async () => {
      const { shell } = this.options.config.policy.tools;
      if (shell.enabled && !shell.sandboxed) {
        this.logger.warn(
          'the shell runs without a sandbox, as policy.json acknowledges: it can reach whatever this service can',
        );
      }
      await this.gateway.start();
      this.skillsPlugin = await createSkillsPlugin(
        this.options.config,
        this.options.tempRoot ?? tmpdir(),
      );
    })();
    return this.started;
  }

  async close(): Promise<void> {
    await this.gateway.stop();
    if (this.skillsPlugin) await rm(this.skillsPlugin, { recursive: true, force: true });
    this.skillsPlugin = undefined;
    this.started = undefined;
  }

  async resetConversation(conversation: ConversationRef): Promise<void> {
    await this.options.conversations.resetSession(conversationId(conversation));
  }

  async runTurn(request: TurnRequest): Promise<TurnResult> {
    await this.start();
    const startedAt = this.now();
    const id = conversationId(request.conversation);
    const record = await this.currentRecord(id, startedAt);
    const resume = record?.sessionId ?? undefined;

    const budget = this.turnBudget(record, startedAt);
    if (budget.usd <= 0) {
      this.logger.info('daily budget spent; turn not started', { conversationId: id });
      return {
        outcome: 'budget_exceeded',
        text: '',
        sessionId: resume ?? null,
        startedSession: false,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        durationMs: this.now() - startedAt,
        errorMessage: DAILY_BUDGET_MESSAGE,
      };
    }

    const cwd = await ensureWorkspace(this.options.workspaceRoot, request.conversation);
    const configDir = await mkdtemp(join(this.options.tempRoot ?? tmpdir(), 'agent-turn-'));
    const grant = this.gateway.grant();
    const store = new ProjectKeyRecorder(this.options.sessionStore);
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.signal?.aborted) abort.abort();

    let sessionId: string | null = resume ?? null;
    let result: SDKResultMessage | undefined;
    let failure: unknown;
    let mcpReport: Promise<void> | undefined;
    try {
      await mkdir(join(configDir, 'tmp'));
      const options = this.queryOptions({
        cwd,
        configDir,
        resume,
        store,
        abort,
        grantEnv: modelEnvironment(this.options.modelAccess, grant),
        maxBudgetUsd: budget.usd,
      });
      const turn = query({ prompt: request.prompt, options });
      for await (const message of turn) {
        if (message.type === 'system' && message.subtype === 'init') {
          sessionId = message.session_id;
          mcpReport = this.reportMcpServers(turn, message, id);
        }
        if (message.type === 'result') result = message;
        notify(request.onMessage, message, this.logger);
      }
    } catch (error) {
      failure = error;
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      grant.revoke();
      await mcpReport;
      await rm(configDir, { recursive: true, force: true });
    }

    const usage = grant.usage.snapshot();
    const outcome = outcomeOf(result, abort.signal.aborted);
    const sessionCostUsd = result?.total_cost_usd ?? record?.sessionCostUsd ?? 0;
    const costUsd = turnCost(result, record);
    if (result) sessionId = result.session_id;
    if (outcome === 'error') {
      this.logger.error('agent turn failed', {
        conversationId: id,
        error: failure instanceof Error ? failure.message : String(failure ?? ''),
        resultErrors: result && result.subtype !== 'success' ? result.errors : undefined,
      });
    }

    // A session that got as far as writing its transcript is kept even when the
    // turn failed or was stopped, so the next turn continues it.
    if (sessionId && store.projectKey) {
      await this.record(id, record, {
        sessionId,
        projectKey: store.projectKey,
        inputTokens:
          usage.inputTokens + usage.cacheReadInputTokens + usage.cacheCreationInputTokens,
        outputTokens: usage.outputTokens,
        costUsd,
        sessionCostUsd,
        at: this.now(),
        ttlMs: this.ttlMs,
      });
    }

    return {
      outcome,
      text: outcome === 'success' && result?.subtype === 'success' ? result.result : '',
      sessionId,
      startedSession: !resume && sessionId !== null,
      inputTokens: usage.inputTokens + usage.cacheReadInputTokens + usage.cacheCreationInputTokens,
      outputTokens: usage.outputTokens,
      costUsd,
      durationMs: this.now() - startedAt,
      errorMessage:
        outcome === 'budget_exceeded' && budget.dailyBinds
          ? DAILY_BUDGET_MESSAGE
          : userMessageFor(outcome),
    };
  }

  /**
   * What this turn may spend: the per-turn budget, or what is left of the
   * conversation's daily budget if that is less (`dailyBinds`).
   */
  private turnBudget(
    record: ConversationRecord | null,
    now: number,
  ): { usd: number; dailyBinds: boolean } {
    const { policy } = this.options.config;
    const spentToday = record?.costDay === utcDay(now) ? record.costDayUsd : 0;
    const dailyLeft = policy.maxBudgetUsdPerConversationPerDay - spentToday;
    return dailyLeft < policy.maxBudgetUsdPerTurn
      ? { usd: dailyLeft, dailyBinds: true }
      : { usd: policy.maxBudgetUsdPerTurn, dailyBinds: false };
  }

  /**
   * Logs each MCP server that is not connected when the turn starts; the
   * turn goes on without its tools. The reason is asked of Claude Code, best
   * effort: the turn may be over before it answers.
   */
  private async reportMcpServers(
    turn: Query,
    init: SDKSystemMessage,
    conversationId: string,
  ): Promise<void> {
    const unavailable = init.mcp_servers.filter((server) => server.status !== 'connected');
    if (unavailable.length === 0) return;
    let errors = new Map<string, string | undefined>();
    let timer: NodeJS.Timeout | undefined;
    try {
      // Bounded: a control request to a process that has just exited may never be answered.
      const statuses = await Promise.race([
        turn.mcpServerStatus(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer')), MCP_STATUS_WAIT_MS);
        }),
      ]);
      errors = new Map(statuses.map((server) => [server.name, server.error]));
    } catch {
      // The turn ended first, or Claude Code did not say; the status alone will do.
    } finally {
      clearTimeout(timer);
    }
    for (const server of unavailable) {
      this.logger.warn('MCP server unavailable; the turn goes on without its tools', {
        conversationId,
        server: server.name,
        status: server.status,
        error: errors.get(server.name),
      });
    }
  }

  /** The conversation's record, after starting it afresh if it has expired. */
  private async currentRecord(id: string, now: number): Promise<ConversationRecord | null> {
    const record = await this.options.conversations.get(id);
    if (!record?.sessionId || record.expiresAt > now) return record;
    this.logger.info('conversation expired; starting a fresh session', { conversationId: id });
    if (record.projectKey) {
      await this.options.sessionStore.delete?.({
        projectKey: record.projectKey,
        sessionId: record.sessionId,
      });
    }
    await this.options.conversations.resetSession(id);
    return this.options.conversations.get(id);
  }

  private async record(
    id: string,
    before: ConversationRecord | null,
    turn: Parameters<ConversationIndex['recordTurn']>[1],
  ): Promise<void> {
    try {
      await this.options.conversations.recordTurn(id, turn, before?.version ?? null);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      // Something else wrote meanwhile (a /new, say). The turn did happen, so
      // its usage counts; take the newer record as the base and write again.
      this.logger.warn('conversation changed during the turn; recording on the newer version', {
        conversationId: id,
      });
      const latest = await this.options.conversations.get(id);
      await this.options.conversations.recordTurn(id, turn, latest?.version ?? null);
    }
  }

  private queryOptions(turn: {
    cwd: string;
    configDir: string;
    resume: string | undefined;
    store: SessionStore;
    abort: AbortController;
    grantEnv: Record<string, string>;
    maxBudgetUsd: number;
  }): Options {
    const { config } = this.options;
    const skills = this.skillsPlugin
      ? config.skills.map((skill) => `${SKILLS_PLUGIN_NAME}:${skill.name}`)
      : [];
    return {
      cwd: turn.cwd,
      resume: turn.resume,
      sessionStore: turn.store,
      abortController: turn.abort,
      env: agentEnvironment({
        configDir: turn.configDir,
        modelEnv: turn.grantEnv,
        path: process.env.PATH,
        mcpTimeoutMs: config.policy.mcpConnectTimeoutMs,
      }),
      model: this.options.model,
      systemPrompt: config.systemPrompt,
      agents: config.agents,
      mcpServers: config.mcpServers,
      // Over stdin, not the command line, where any process could read their headers and env.
      mcpServersDelivery: 'initialize',
      plugins: this.skillsPlugin ? [{ type: 'local', path: this.skillsPlugin }] : [],
      // Only the agent directory's skills; Claude Code's bundled ones are not for a chat.
      skills,
      ...this.toolPolicy.queryOptions({
        scope: {
          workspace: turn.cwd,
          readOnly: skillReadRoots(this.skillsPlugin, config.skillsDir),
        },
        configDir: turn.configDir,
        skills: skills.length > 0,
        logger: this.logger,
      }),
      maxTurns: config.policy.maxTurns,
      maxBudgetUsd: turn.maxBudgetUsd,
      // No settings files from the machine: the agent directory is the whole configuration.
      settingSources: [],
      stderr: (data) => this.logger.debug('claude code stderr', { data: data.trimEnd() }),
    };
  }
}

function notify(onMessage: TurnRequest['onMessage'], message: SDKMessage, logger: Logger): void {
  if (!onMessage) return;
  try {
    onMessage(message);
  } catch (error) {
    // Progress display is best effort; it must never break the turn.
    logger.warn('turn progress callback failed', { error: String(error) });
  }
}

function outcomeOf(result: SDKResultMessage | undefined, aborted: boolean): TurnOutcome {
  if (aborted) return 'cancelled';
  // The SDK throws after yielding an error result; the result says more than the throw.
  if (!result) return 'error';
  switch (result.subtype) {
    case 'success':
      // A turn that ended on a model API error is reported as `success` with
      // `is_error` set and the error text as its result: not an answer.
      return result.is_error ? 'error' : 'success';
    case 'error_max_turns':
      return 'max_turns';
    case 'error_max_budget_usd':
      return 'budget_exceeded';
    default:
      return 'error';
  }
}

/**
 * The SDK's `total_cost_usd` on a resumed session continues from the total the
 * transcript saved, so this turn's cost is the difference from the session's
 * total recorded after the previous turn — never negative.
 */
function turnCost(result: SDKResultMessage | undefined, record: ConversationRecord | null): number {
  if (!result) return 0;
  const total = result.total_cost_usd;
  const previous = record?.sessionId ? record.sessionCostUsd : 0;
  return total >= previous ? total - previous : total;
}

function userMessageFor(outcome: TurnOutcome): string | undefined {
  switch (outcome) {
    case 'success':
      return undefined;
    case 'cancelled':
      return 'Stopped.';
    case 'max_turns':
      return 'I stopped because this request needed more steps than I am allowed in one turn. Ask me to continue, or narrow the request.';
    case 'budget_exceeded':
      return 'I stopped because this request reached its spending limit for one turn. Ask me to continue, or narrow the request.';
    case 'error':
      return 'Sorry, something went wrong while I was working on that. Please try again.';
  }
}
