import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from '../../src/lib/http-server.js';

/**
 * A local stand-in for the Anthropic Messages API that plays scripted replies.
 *
 * The real Claude Code binary talks to it through `ANTHROPIC_BASE_URL`, so
 * tests exercise the whole agent (tool calls, subagents, resume) offline. It
 * speaks SSE streaming and plain JSON, answers `count_tokens`, and records
 * every request so tests can assert on what the model was sent.
 */

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface ScriptedReply {
  content: ContentBlock[];
  stopReason?: 'end_turn' | 'tool_use' | 'max_tokens';
  usage?: { input_tokens: number; output_tokens: number };
  /** Wait this long before answering (simulates a slow model; lets tests cancel mid-turn). */
  delayMs?: number;
  /** Answer with this HTTP status and an API error body instead of a message. */
  errorStatus?: number;
  /**
   * A model that accepts the request and goes silent: `'before-headers'`
   * sends nothing at all, `'mid-stream'` starts the answer (headers and the
   * first events) and then sends nothing more. Either way the connection is
   * held open until the client gives up.
   */
  hang?: 'before-headers' | 'mid-stream';
  /** Start streaming the answer, then break off with an SSE `error` event (an overloaded model). */
  failMidStream?: boolean;
  /**
   * A model that writes slowly: each text block streams in this many deltas
   * (3 unless told), this long apart (streaming requests only).
   */
  stream?: { deltas?: number; delayMs?: number };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: MessagesRequestBody;
}

/** The parts of a Messages API request body that tests look at. */
export interface MessagesRequestBody {
  model?: string;
  stream?: boolean;
  system?: string | Array<{ type: string; text?: string }>;
  messages?: Array<{ role: string; content: string | Array<Record<string, unknown>> }>;
  tools?: Array<{ name: string; description?: string; input_schema?: unknown }>;
  [key: string]: unknown;
}

export type ReplyStep = ScriptedReply | ((request: RecordedRequest) => ScriptedReply);

interface QueuedStep {
  match: (request: RecordedRequest) => boolean;
  step: ReplyStep;
}

/** Builders for common replies. */
export const reply = {
  text(text: string, extra: Partial<ScriptedReply> = {}): ScriptedReply {
    return { content: [{ type: 'text', text }], stopReason: 'end_turn', ...extra };
  },
  toolUse(name: string, input: Record<string, unknown>, text?: string): ScriptedReply {
    const content: ContentBlock[] = [];
    if (text) content.push({ type: 'text', text });
    content.push({
      type: 'tool_use',
      id: `toolu_${randomUUID().replaceAll('-', '')}`,
      name,
      input,
    });
    return { content, stopReason: 'tool_use' };
  },
  /**
   * Delegate to a subagent through Claude Code's Agent tool, in the foreground:
   * agents run in the background by default, and a chat turn needs the answer.
   */
  subagent(
    subagentType: string,
    prompt: string,
    description = `Ask ${subagentType}`,
  ): ScriptedReply {
    return reply.toolUse('Agent', {
      description,
      prompt,
      subagent_type: subagentType,
      run_in_background: false,
    });
  },
  /** One reply calling several tools, with ids the test chooses (to find each result later). */
  toolCalls(
    calls: Array<[id: string, name: string, input: Record<string, unknown>]>,
  ): ScriptedReply {
    return {
      content: calls.map(([id, name, input]) => ({ type: 'tool_use' as const, id, name, input })),
      stopReason: 'tool_use',
    };
  },
  /** A model that never answers (see ScriptedReply.hang). */
  hang(where: 'before-headers' | 'mid-stream' = 'before-headers'): ScriptedReply {
    return { content: [{ type: 'text', text: 'never finished' }], hang: where };
  },
  /** An answer that breaks off mid-stream with an overloaded error. */
  failMidStream(): ScriptedReply {
    return { content: [{ type: 'text', text: 'half an answer' }], failMidStream: true };
  },
  /** An API error (500 unless told). */
  error(status = 500): ScriptedReply {
    return { content: [], errorStatus: status };
  },
  toolUses(calls: Array<{ name: string; input: Record<string, unknown> }>): ScriptedReply {
    return {
      content: calls.map((call) => ({
        type: 'tool_use' as const,
        id: `toolu_${randomUUID().replaceAll('-', '')}`,
        name: call.name,
        input: call.input,
      })),
      stopReason: 'tool_use',
    };
  },
};

/** Everything textual in a request's system prompt and messages, for `includes` checks. */
export function requestText(request: RecordedRequest): string {
  return JSON.stringify([request.body.system ?? null, request.body.messages ?? []]);
}

/** The system prompt of a request as one string. */
export function systemText(request: RecordedRequest): string {
  const system = request.body.system;
  if (typeof system === 'string') return system;
  return (system ?? []).map((block) => block.text ?? '').join('\n');
}

/** The text of the last user message (tool results and system reminders excluded). */
export function lastUserText(request: RecordedRequest): string {
  const messages = request.body.messages ?? [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    const texts = message.content
      .filter((block) => block.type === 'text' && typeof block.text === 'string')
      .map((block) => block.text as string)
      .filter((text) => !text.startsWith('<system-reminder>'));
    if (texts.length > 0) return texts.join('\n');
  }
  return '';
}

/** Tool results the request carries back to the model, keyed by tool_use id. */
export function toolResults(
  request: RecordedRequest,
): Array<{ toolUseId: string; text: string; isError: boolean }> {
  const results: Array<{ toolUseId: string; text: string; isError: boolean }> = [];
  for (const message of request.body.messages ?? []) {
    if (typeof message.content === 'string') continue;
    for (const block of message.content) {
      if (block.type !== 'tool_result') continue;
      const content = block.content;
      const text =
        typeof content === 'string'
          ? content
          : Array.isArray(content)
            ? content.map((part: { text?: string }) => part.text ?? '').join('')
            : '';
      results.push({
        toolUseId: String(block.tool_use_id),
        text,
        isError: block.is_error === true,
      });
    }
  }
  return results;
}

/** The tool results a request carries, by tool_use id; empty for no request. */
export function toolResultsById(
  request: RecordedRequest | undefined,
): Map<string, { toolUseId: string; text: string; isError: boolean }> {
  return new Map(request ? toolResults(request).map((result) => [result.toolUseId, result]) : []);
}

export interface ScriptedModelServerOptions {
  /** Reply used when no queued step matches. */
  fallback?: ReplyStep;
  /** Delay before every reply (ms); zero by default. */
  latencyMs?: number;
}

export class ScriptedModelServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: QueuedStep[] = [];
  private server: Server | undefined;
  private baseUrl = '';
  private readonly defaultFallback: ReplyStep;
  private fallback: ReplyStep;
  private readonly latencyMs: number;

  constructor(options: ScriptedModelServerOptions = {}) {
    this.defaultFallback = options.fallback ?? reply.text('(scripted model: nothing queued)');
    this.fallback = this.defaultFallback;
    this.latencyMs = options.latencyMs ?? 0;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ type: 'error', error: { type: 'api_error', message: String(error) } }),
        );
      });
    });
    const port = await listenOnLoopback(server);
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this;
  }

  /** The value for `ANTHROPIC_BASE_URL`. */
  get url(): string {
    if (!this.baseUrl) throw new Error('ScriptedModelServer not started');
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server);
  }

  /** Queue replies for the next Messages requests, in order. */
  enqueue(...steps: ReplyStep[]): this {
    for (const step of steps) this.queue.push({ match: () => true, step });
    return this;
  }

  /**
   * Queue a reply that only a matching request consumes (e.g. a subagent's
   * request, recognised by its system prompt). Earlier matching steps go first.
   */
  enqueueFor(match: (request: RecordedRequest) => boolean, ...steps: ReplyStep[]): this {
    for (const step of steps) this.queue.push({ match, step });
    return this;
  }

  /** Replies still queued (a test can assert its script was played out). */
  get pending(): number {
    return this.queue.length;
  }

  /** Requests to the Messages endpoint (count_tokens excluded). */
  get messageRequests(): RecordedRequest[] {
    return this.requests.filter(
      (request) =>
        request.path.startsWith('/v1/messages') && !request.path.includes('count_tokens'),
    );
  }

  /** Change the reply for requests nothing queued matches (e.g. a model that always fails). */
  setFallback(step: ReplyStep): this {
    this.fallback = step;
    return this;
  }

  /** Forget recorded requests and queued replies, and restore the fallback. */
  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
    this.fallback = this.defaultFallback;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: MessagesRequestBody = {};
    if (raw) {
      try {
        body = JSON.parse(raw) as MessagesRequestBody;
      } catch {
        return sendError(res, 400, 'invalid_request_error', 'request body is not JSON');
      }
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body,
    };
    this.requests.push(request);

    if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
      return sendJson(res, 200, { input_tokens: estimateTokens(raw) });
    }
    if (req.method !== 'POST' || path !== '/v1/messages') {
      return sendError(res, 404, 'not_found_error', `no route for ${req.method} ${path}`);
    }

    const index = this.queue.findIndex((queued) => queued.match(request));
    const step = index >= 0 ? (this.queue.splice(index, 1)[0] as QueuedStep).step : this.fallback;
    const scripted = typeof step === 'function' ? step(request) : step;
    const delay = (scripted.delayMs ?? 0) + this.latencyMs;
    if (delay > 0) await sleepUnlessClosed(delay, res);
    if (res.destroyed || res.writableEnded) return;
    if (scripted.errorStatus) {
      return sendError(res, scripted.errorStatus, 'api_error', 'scripted failure');
    }
    if (scripted.hang === 'before-headers') return waitForClose(res);

    const message = {
      id: `msg_${randomUUID().replaceAll('-', '')}`,
      type: 'message',
      role: 'assistant',
      model: body.model ?? 'claude-scripted',
      content: scripted.content,
      stop_reason:
        scripted.stopReason ??
        (scripted.content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
      stop_sequence: null,
      usage: scripted.usage ?? {
        input_tokens: estimateTokens(raw),
        output_tokens: estimateTokens(JSON.stringify(scripted.content)),
      },
    };
    if (scripted.hang === 'mid-stream' || scripted.failMidStream) {
      if (!body.stream) {
        // A plain request cannot break off mid-stream: silent, or overloaded outright.
        if (scripted.hang) return waitForClose(res);
        return sendError(res, 529, 'overloaded_error', 'scripted overload');
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(
        `event: message_start\ndata: ${JSON.stringify({
          type: 'message_start',
          message: { ...message, content: [], stop_reason: null },
        })}\n\n`,
      );
      if (scripted.hang) return waitForClose(res);
      res.end(
        `event: error\ndata: ${JSON.stringify({
          type: 'error',
          error: { type: 'overloaded_error', message: 'scripted overload mid-stream' },
        })}\n\n`,
      );
      return;
    }
    if (body.stream) await streamMessage(res, message, scripted.stream);
    else sendJson(res, 200, message);
  }
}

async function streamMessage(
  res: ServerResponse,
  message: {
    content: ContentBlock[];
    stop_reason: string;
    usage: { input_tokens: number; output_tokens: number };
  } & Record<string, unknown>,
  pace: ScriptedReply['stream'] = {},
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('message_start', {
    type: 'message_start',
    message: {
      ...message,
      content: [],
      stop_reason: null,
      usage: { ...message.usage, output_tokens: 0 },
    },
  });
  for (const [index, block] of message.content.entries()) {
    if (block.type === 'text') {
      send('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'text', text: '' },
      });
      // Several deltas, as a real stream has, so consumers that join partial text are exercised.
      for (const [n, piece] of splitInto(block.text, pace.deltas ?? 3).entries()) {
        if (n > 0 && pace.delayMs) await sleepUnlessClosed(pace.delayMs, res);
        if (res.destroyed) return;
        send('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'text_delta', text: piece },
        });
      }
    } else {
      send('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
      });
      send('content_block_delta', {
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
      });
    }
    send('content_block_stop', { type: 'content_block_stop', index });
  }
  send('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: message.stop_reason, stop_sequence: null },
    usage: { output_tokens: message.usage.output_tokens },
  });
  send('message_stop', { type: 'message_stop' });
  res.end();
}

function splitInto(text: string, parts: number): string[] {
  if (text.length < parts) return [text];
  const size = Math.ceil(text.length / parts);
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { type: 'error', error: { type, message } });
}

/** Roughly four characters a token: good enough for usage figures in tests. */
function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** Holds the request open, answering nothing, until the client goes away. */
function waitForClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.once('close', () => resolve());
  });
}

// The response's 'close' (not the request's, which fires once the body is read)
// tells us the client went away, e.g. a cancelled turn.
function sleepUnlessClosed(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve();
    };
    // Removed when the time is up: a slow stream sleeps many times on one response.
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve();
    }, ms);
    res.once('close', onClose);
  });
}
