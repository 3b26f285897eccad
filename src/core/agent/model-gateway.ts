import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { closeServer, listenOnLoopback } from '../../lib/http-server.js';
import type { Logger } from '../../ports/logger.js';
import { silentLogger } from '../../ports/logger.js';
import type { ModelUpstream, UpstreamRequest } from '../../ports/model-upstream.js';
import { UsageMeter } from './usage-meter.js';

/** An Anthropic API upstream authenticated with an API key. */
export function anthropicUpstream(options: {
  apiKey: string;
  baseUrl?: string | undefined;
}): ModelUpstream {
  return {
    baseUrl: options.baseUrl ?? 'https://api.anthropic.com',
    authorize(request) {
      request.headers['x-api-key'] = options.apiKey;
    },
  };
}

/** A grant the gateway honours for the length of one turn. */
export interface GatewayGrant {
  /**
   * Base URL to give the agent (`ANTHROPIC_BASE_URL`). It embeds a random
   * token that is worthless once the turn ends.
   */
  baseUrl: string;
  /** Tokens counted on responses that went through this grant. */
  readonly usage: UsageMeter;
  /** How the model behaved for this grant's calls. */
  readonly health: ModelHealth;
  revoke(): void;
}

/** What a grant's model calls came to: enough to tell "the model is unavailable" from other failures. */
export interface ModelHealth {
  /** Model calls forwarded. */
  calls: number;
  /** Calls the model left silent past a timeout, that failed (5xx, 429) or that could not reach it. */
  failures: number;
  /** Whether the latest call was one of those. */
  lastFailed: boolean;
}

export interface ModelGatewayOptions {
  logger?: Logger | undefined;
  /**
   * How long to wait for the start of an answer (headers and first chunk)
   * before telling the agent the model is overloaded. Default: none.
   */
  firstByteTimeoutMs?: number | undefined;
  /** How long to wait between two chunks of an answer. Default: none. */
  idleTimeoutMs?: number | undefined;
}

/** The model went silent: the gateway gave up waiting. */
class ModelSilentError extends Error {
  override readonly name = 'ModelSilentError';
}

/**
 * A small reverse proxy on loopback between Claude Code and the model.
 *
 * Claude Code gets `ANTHROPIC_BASE_URL` pointing here and a random per-turn
 * token in that URL. The gateway checks the token, swaps in the real
 * credential and streams the answer back, counting tokens on the way. So the
 * API key (or the cloud role) never enters the agent's environment or files,
 * and a token that leaks from a turn stops working when the turn ends.
 */
export class ModelGateway {
  private server: Server | undefined;
  private port = 0;
  private readonly grants = new Map<string, Grant>();
  private readonly logger: Logger;

  constructor(
    private readonly upstream: ModelUpstream,
    private readonly options: ModelGatewayOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      this.forward(req, res).catch((error: unknown) => {
        this.logger.error('model gateway request failed', { error: String(error) });
        if (!res.headersSent)
          sendError(res, 502, 'api_error', 'model gateway could not reach the model');
        else res.destroy();
      });
    });
    this.port = await listenOnLoopback(server);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server);
  }

  /** Issue a token for one turn. */
  grant(): GatewayGrant {
    if (!this.server) throw new Error('ModelGateway.grant() before start()');
    const token = randomBytes(24).toString('base64url');
    const usage = new UsageMeter();
    const health: ModelHealth = { calls: 0, failures: 0, lastFailed: false };
    this.grants.set(token, { usage, health });
    return {
      baseUrl: `http://127.0.0.1:${this.port}/t/${token}`,
      usage,
      health,
      revoke: () => {
        this.grants.delete(token);
      },
    };
  }

  /**
   * The grant token rides in the first path segment (`/t/<token>/v1/messages`)
   * rather than in a header, so it works for the Anthropic API (which sends an
   * API key header) and for Bedrock with Claude Code's own auth skipped (which
   * sends none) alike.
   */
  private findGrant(req: IncomingMessage): (Grant & { path: string }) | undefined {
    const match = /^\/t\/([A-Za-z0-9_-]+)(\/.*)?$/.exec(req.url ?? '');
    if (!match?.[1]) return undefined;
    const presented = Buffer.from(match[1]);
    for (const [token, grant] of this.grants) {
      const expected = Buffer.from(token);
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) {
        return { ...grant, path: match[2] ?? '/' };
      }
    }
    return undefined;
  }

  /** A token counter for a model answer's body, or undefined if the call produces no message. */
  private usageCounter(grant: { usage: UsageMeter; path: string }, response: Response) {
    const pathname = new URL(grant.path, 'http://gateway').pathname;
    if (!MESSAGE_PATHS.some((pattern) => pattern.test(pathname))) return undefined;
    const contentType = response.headers.get('content-type') ?? '';
    if (contentType.includes('text/event-stream')) return grant.usage.observe('sse');
    const events = this.upstream.eventReader?.(contentType);
    return grant.usage.observe(events ? { events } : 'json');
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const grant = this.findGrant(req);
    if (!grant) {
      return sendError(res, 401, 'authentication_error', 'unknown or expired gateway token');
    }
    if (!isModelRequest(req.method, grant.path)) {
      this.logger.warn('model gateway refused a request that is not a model call', {
        method: req.method,
        path: grant.path.split('?')[0],
      });
      return sendError(res, 403, 'permission_error', 'the model gateway only forwards model calls');
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    // Concatenate rather than resolve, so an upstream with a path prefix keeps it.
    const upstreamUrl = new URL(`${this.upstream.baseUrl.replace(/\/+$/, '')}${grant.path}`);
    const headers = forwardableHeaders(req);
    const outgoing: UpstreamRequest = {
      method: req.method ?? 'POST',
      url: upstreamUrl,
      headers,
      body: Buffer.concat(chunks),
    };
    await this.upstream.authorize(outgoing);

    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const health = grant.health;
    health.calls++;
    const failed = (why: string, detail?: Record<string, unknown>) => {
      health.failures++;
      health.lastFailed = true;
      this.logger.warn(`model call failed: ${why}`, detail ?? {});
    };
    // Armed until the first chunk of the answer, then re-armed by every chunk.
    const silence = new SilenceTimer(abort, this.options);
    silence.arm('first');
    let response: Response;
    try {
      response = await fetch(outgoing.url, {
        method: outgoing.method,
        headers: outgoing.headers,
        body:
          outgoing.method === 'GET' || outgoing.method === 'HEAD'
            ? undefined
            : new Uint8Array(outgoing.body),
        signal: abort.signal,
      });
    } catch (error) {
      silence.clear();
      if (silence.fired) {
        failed('no answer in time', { waitedMs: this.options.firstByteTimeoutMs });
        // Overloaded, as the API says it: Claude Code retries it (a bounded
        // number of times) and then ends the turn with an API error.
        return sendError(res, 529, 'overloaded_error', 'the model did not answer in time');
      }
      if (!abort.signal.aborted) failed('model unreachable', { error: String(error) });
      throw error;
    }
    if (response.status >= 500 || response.status === 429) {
      failed('model answered with an error', { status: response.status });
    } else {
      health.lastFailed = false;
    }
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      // fetch already decoded the body; the length and encoding no longer apply.
      if (key === 'content-encoding' || key === 'content-length' || key === 'transfer-encoding')
        return;
      responseHeaders[key] = value;
    });
    res.writeHead(response.status, responseHeaders);
    if (!response.body) {
      res.end();
      return;
    }
    const counter = response.ok ? this.usageCounter(grant, response) : undefined;
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
    try {
      for await (const chunk of body) {
        silence.arm('idle');
        counter?.write(chunk as Buffer);
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
      }
    } catch (error) {
      if (!silence.fired) throw error;
      failed('the answer stopped', { idleMs: this.options.idleTimeoutMs });
      const sse = (response.headers.get('content-type') ?? '').includes('text/event-stream');
      if (!sse) {
        // No way to say so in the middle of another format: cut the connection.
        res.destroy();
        return;
      }
      res.end(
        `event: error\ndata: ${JSON.stringify({
          type: 'error',
          error: { type: 'overloaded_error', message: 'the model stopped answering' },
        })}\n\n`,
      );
      return;
    } finally {
      silence.clear();
    }
    counter?.end();
    res.end();
  }
}

interface Grant {
  usage: UsageMeter;
  health: ModelHealth;
}

/**
 * Aborts a model call when the model stays silent too long: first for the
 * start of the answer, then between chunks. `fired` tells a timeout from
 * the agent hanging up.
 */
class SilenceTimer {
  fired = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly abort: AbortController,
    private readonly limits: {
      firstByteTimeoutMs?: number | undefined;
      idleTimeoutMs?: number | undefined;
    },
  ) {}

  arm(phase: 'first' | 'idle'): void {
    this.clear();
    const ms = phase === 'first' ? this.limits.firstByteTimeoutMs : this.limits.idleTimeoutMs;
    if (!ms) return;
    this.timer = setTimeout(() => {
      this.fired = true;
      this.abort.abort(
        new ModelSilentError(`no ${phase === 'first' ? 'answer' : 'chunk'} in ${ms} ms`),
      );
    }, ms);
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * The calls that produce a message (and so use tokens): the Messages API, and
 * Bedrock's invoke endpoints. Token counting and the other read-only calls are
 * forwarded but not counted.
 */
const MESSAGE_PATHS = [/\/v1\/messages$/, /^\/model\/[^/]+\/(invoke|invoke-with-response-stream)$/];

/**
 * The calls Claude Code makes to the model, and all the gateway forwards: the
 * Messages API (and its token counting) and Bedrock's invoke endpoints. The
 * real credential is not lent out for anything else (files, batches, other
 * services of the same cloud account), whoever holds a turn's token.
 */
const MODEL_PATHS = [
  /^\/v1\/messages(\/count_tokens)?$/,
  /^\/model\/[^/]+\/(invoke|invoke-with-response-stream|count-tokens)$/,
];

function isModelRequest(method: string | undefined, path: string): boolean {
  const pathname = path.split('?')[0] ?? '';
  return method === 'POST' && MODEL_PATHS.some((pattern) => pattern.test(pathname));
}

// Hop-by-hop headers and the agent's own credential never go upstream.
const DROPPED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'x-api-key',
  'authorization',
  'accept-encoding',
]);

function forwardableHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined || DROPPED_HEADERS.has(key)) continue;
    headers[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ type: 'error', error: { type, message } }));
}
