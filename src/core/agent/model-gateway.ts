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
  revoke(): void;
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
  private readonly grants = new Map<string, UsageMeter>();
  private readonly logger: Logger;

  constructor(
    private readonly upstream: ModelUpstream,
    options: { logger?: Logger } = {},
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
    this.grants.set(token, usage);
    return {
      baseUrl: `http://127.0.0.1:${this.port}/t/${token}`,
      usage,
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
  private findGrant(req: IncomingMessage): { usage: UsageMeter; path: string } | undefined {
    const match = /^\/t\/([A-Za-z0-9_-]+)(\/.*)?$/.exec(req.url ?? '');
    if (!match?.[1]) return undefined;
    const presented = Buffer.from(match[1]);
    for (const [token, usage] of this.grants) {
      const expected = Buffer.from(token);
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) {
        return { usage, path: match[2] ?? '/' };
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
    const response = await fetch(outgoing.url, {
      method: outgoing.method,
      headers: outgoing.headers,
      body:
        outgoing.method === 'GET' || outgoing.method === 'HEAD'
          ? undefined
          : new Uint8Array(outgoing.body),
      signal: abort.signal,
    });
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
    for await (const chunk of body) {
      counter?.write(chunk as Buffer);
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    }
    counter?.end();
    res.end();
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
