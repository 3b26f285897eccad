import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  query,
  type SDKAssistantMessageError,
  type SDKMessage,
  type SDKResultMessage,
  type SessionStore,
} from '@anthropic-ai/claude-agent-sdk';
import type { AgentConfig } from '../../config/agent-config.js';
import {
  type ConversationRef,
  conversationId,
  DEFAULT_SESSION_TTL_MS,
} from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import { SEND_FILE_SERVER } from '../../domain/outgoing-file.js';
import type { TurnRequest, TurnResult } from '../../domain/turn.js';
import type { ConversationIndex, ConversationRecord } from '../../ports/conversation-index.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { texts } from '../../texts/en.js';
import { sweepStagedFiles, TurnFileStaging } from './file-staging.js';
import { reportUnavailableMcpServers } from './mcp-status-report.js';
import { type ModelAccess, modelEnvironment, upstreamFor } from './model-access.js';
import { type ModelFailureSettings, modelFailureSettings } from './model-failure.js';
import { ModelGateway } from './model-gateway.js';
import { detectProcessSandbox, type ProcessSandbox } from './process-sandbox.js';
import { ProjectKeyRecorder } from './project-key-recorder.js';
import { queryOptions, type TurnSetup } from './query-options.js';
import { createSkillsPlugin } from './skills-plugin.js';
import { sweepStaleTurnDirs, turnDirPrefix } from './temp-sweep.js';
import { ToolPolicy } from './tool-policy.js';
import { type TurnInput, turnInput } from './turn-attachments.js';
import { turnBudget } from './turn-budget.js';
import { modelWasUnavailable, outcomeOf, turnCost, userMessageFor } from './turn-outcome.js';
import { isKept, TurnRecorder } from './turn-record.js';
import { ensureWorkspace } from './workspace.js';

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
  /**
   * Where files the agent sends (send_file) wait for delivery (file-staging.ts).
   * Without it the agent gets no send_file tool.
   */
  outgoingFilesRoot?: string | undefined;
  /** Bounds on a silent or failing model and on a turn's time (model-failure.ts). */
  modelFailure?: Partial<ModelFailureSettings> | undefined;
  /** How Claude Code is started (see process-sandbox.ts). Default: the strongest that works here. */
  processSandbox?: ProcessSandbox | undefined;
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
  private readonly recorder: TurnRecorder;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly failure: ModelFailureSettings;
  private started: Promise<void> | undefined;
  private skillsPlugin: string | undefined;
  private processSandbox: ProcessSandbox | undefined;

  constructor(private readonly options: AgentRuntimeOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.ttlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.failure = modelFailureSettings(options.modelFailure);
    this.gateway = new ModelGateway(upstreamFor(options.modelAccess), {
      logger: this.logger,
      firstByteTimeoutMs: this.failure.firstByteTimeoutMs,
      idleTimeoutMs: this.failure.idleTimeoutMs,
    });
    this.toolPolicy = new ToolPolicy(options.config.policy);
    this.recorder = new TurnRecorder({
      conversations: options.conversations,
      sessionStore: options.sessionStore,
      logger: this.logger,
    });
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
      // Before this process runs a turn: what killed processes left (temp-sweep.ts).
      await sweepStaleTurnDirs({
        roots: [this.options.tempRoot ?? tmpdir(), tmpdir()],
        logger: this.logger,
      });
      if (this.options.outgoingFilesRoot) {
        // Files staged for answers a crash left undelivered (file-staging.ts).
        await sweepStagedFiles(this.options.outgoingFilesRoot, { logger: this.logger });
        if (this.sendsFiles() && SEND_FILE_SERVER in this.options.config.mcpServers) {
          this.logger.warn(
            'mcp.json names a server "chat"; the runtime\'s own send_file server replaces it',
          );
        }
      }
      await this.gateway.start();
      this.processSandbox =
        this.options.processSandbox ?? (await detectProcessSandbox({ PATH: process.env.PATH }));
      if (this.processSandbox.kind !== 'bubblewrap') {
        this.logger.warn('Claude Code runs without a process sandbox', {
          reason: this.processSandbox.reason,
        });
      }
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
    const record = await this.currentRecord(id, startedAt, request);
    const resume = record?.sessionId ?? undefined;
    // Resume where the last settled turn ended: a failed attempt's entries
    // after it (its copy of this very prompt, when this is a retry) drop out.
    const resumeAt = resume ? (record?.lastGoodEntry ?? undefined) : undefined;

    const budget = turnBudget(this.options.config.policy, record, startedAt);
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
        errorMessage: texts.dailyBudgetSpent,
      };
    }

    const cwd = await ensureWorkspace(this.options.workspaceRoot, request.conversation);
    const staging = this.sendsFiles()
      ? new TurnFileStaging(this.options.outgoingFilesRoot as string, request.conversation)
      : undefined;
    const configDir = await mkdtemp(join(this.options.tempRoot ?? tmpdir(), turnDirPrefix()));
    const grant = this.gateway.grant();
    const store = new ProjectKeyRecorder(this.options.sessionStore);
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.signal?.aborted) abort.abort();
    // Stopped like a /stop at the limit, whatever the turn is doing (a model that trickles, a tool loop).
    let timeLimitReached = false;
    const timeLimit = setTimeout(() => {
      timeLimitReached = true;
      abort.abort();
    }, this.failure.turnTimeLimitMs);

    let sessionId: string | null = resume ?? null;
    let result: SDKResultMessage | undefined;
    let failure: unknown;
    let mcpReport: Promise<void> | undefined;
    let lastApiError: SDKAssistantMessageError | undefined;
    let input: TurnInput | undefined;
    try {
      await mkdir(join(configDir, 'tmp'));
      const options = this.queryOptions({
        cwd,
        configDir,
        resume,
        resumeAt,
        store,
        abort,
        grantEnv: modelEnvironment(this.options.modelAccess, grant),
        maxBudgetUsd: budget.usd,
        staging,
        interaction: request.interaction,
      });
      // The person's files into the workspace's inbox/, named in the prompt (turn-attachments.ts).
      input = await turnInput(request, cwd, this.logger);
      const turn = query({ prompt: input.prompt, options });
      for await (const message of turn) {
        if (message.type === 'system' && message.subtype === 'init') {
          sessionId = message.session_id;
          mcpReport = reportUnavailableMcpServers(turn, message, id, this.logger);
        }
        if (message.type === 'result') {
          result = message;
          input.end();
        }
        if (message.type === 'assistant' && message.parent_tool_use_id === null)
          lastApiError = message.error;
        notify(request.onMessage, message, this.logger);
      }
    } catch (error) {
      failure = error;
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      input?.end();
      clearTimeout(timeLimit);
      grant.revoke();
      await mcpReport;
      await rm(configDir, { recursive: true, force: true });
    }

    const usage = grant.usage.snapshot();
    // Cached and cache-written prompt tokens are input too; the totals count them all.
    const inputTokens =
      usage.inputTokens + usage.cacheReadInputTokens + usage.cacheCreationInputTokens;
    let outcome = outcomeOf(result, abort.signal.aborted);
    const cutAtTimeLimit = outcome === 'cancelled' && timeLimitReached && !request.signal?.aborted;
    // Like the other limits: said so, kept, not retried (it would only reach the limit again).
    if (cutAtTimeLimit) outcome = 'max_turns';
    if (outcome === 'error' && modelWasUnavailable(grant.health, lastApiError)) {
      outcome = 'model_unavailable';
    }
    const sessionCostUsd = result?.total_cost_usd ?? record?.sessionCostUsd ?? 0;
    const costUsd = turnCost(result, record);
    if (result) sessionId = result.session_id;
    if (outcome === 'error') {
      this.logger.error('agent turn failed', {
        conversationId: id,
        error: errorMessage(failure ?? ''),
        resultErrors: result && result.subtype !== 'success' ? result.errors : undefined,
      });
    }

    const usageRecord = {
      inputTokens,
      outputTokens: usage.outputTokens,
      costUsd,
      sessionCostUsd,
      at: this.now(),
      ttlMs: this.ttlMs,
    };
    const kept = isKept(outcome, request.signal?.reason);
    // The files of a turn that is not kept go nowhere: its rerun sends its own.
    const files = kept ? staging?.files() : await staging?.discard(this.logger);
    await this.recorder.record({
      id,
      before: record,
      kept,
      session: { sessionId, projectKey: store.projectKey, lastChainEntry: store.lastChainEntry },
      usage: usageRecord,
    });

    return {
      outcome,
      text: outcome === 'success' && result?.subtype === 'success' ? result.result : '',
      sessionId,
      startedSession: !resume && sessionId !== null,
      inputTokens,
      outputTokens: usage.outputTokens,
      costUsd,
      durationMs: this.now() - startedAt,
      errorMessage: cutAtTimeLimit
        ? texts.turnTimeLimit
        : outcome === 'budget_exceeded' && budget.dailyBinds
          ? texts.dailyBudgetSpent
          : userMessageFor(outcome),
      ...(files?.length ? { files } : {}),
    };
  }

  /** Whether the agent gets the send_file tool: somewhere to stage files, and file tools on. */
  private sendsFiles(): boolean {
    return (
      this.options.outgoingFilesRoot !== undefined &&
      this.options.config.policy.tools.files !== 'off'
    );
  }

  /**
   * The conversation's record, after starting it afresh if it has expired:
   * like `/new`, that also forgets its "always" approvals (locally the
   * database does it with the reset; the DynamoDB grants have a TTL of
   * their own, so they are cleared here).
   */
  private async currentRecord(
    id: string,
    now: number,
    request: TurnRequest,
  ): Promise<ConversationRecord | null> {
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
    await request.interaction?.forgetGrants?.();
    return this.options.conversations.get(id);
  }

  private queryOptions(turn: TurnSetup) {
    return queryOptions(
      {
        config: this.options.config,
        modelAccess: this.options.modelAccess,
        model: this.options.model,
        maxRetries: this.failure.maxRetries,
        toolPolicy: this.toolPolicy,
        skillsPlugin: this.skillsPlugin,
        processSandbox: this.processSandbox,
        logger: this.logger,
      },
      turn,
    );
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
