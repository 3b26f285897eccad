import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BEDROCK_EVENT_STREAM,
  encodeBedrockEventStream,
} from '../../adapters/bedrock/bedrock-event-stream.js';
import { bedrockUpstream } from '../../adapters/bedrock/bedrock-upstream.js';
import { closeServer, listenOnLoopback } from '../../lib/http-server.js';
import { anthropicUpstream, ModelGateway } from './model-gateway.js';

/** What a local upstream received. */
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local HTTP server standing in for the model provider; answers with `respond`. */
class Upstream {
  readonly received: Received[] = [];
  respond: (request: Received) => {
    status?: number;
    type?: string;
    body: string | Buffer;
  } = () => ({
    body: JSON.stringify({ type: 'message', usage: { input_tokens: 11, output_tokens: 7 } }),
  });
  private server: Server | undefined;

  async start(): Promise<string> {
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      this.received.push(request);
      const answer = this.respond(request);
      res.writeHead(answer.status ?? 200, { 'content-type': answer.type ?? 'application/json' });
      res.end(answer.body);
    });
    const port = await listenOnLoopback(server);
    this.server = server;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }
}

const MESSAGE_BODY = JSON.stringify({ model: 'claude-test', messages: [] });

function post(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: MESSAGE_BODY,
  });
}

describe('ModelGateway with an Anthropic API key', () => {
  const upstream = new Upstream();
  let gateway: ModelGateway;

  beforeAll(async () => {
    const base = await upstream.start();
    // A path prefix, as a corporate proxy might have, must survive.
    gateway = new ModelGateway(
      anthropicUpstream({ apiKey: 'sk-real-key', baseUrl: `${base}/proxy/` }),
    );
    await gateway.start();
  });

  afterAll(async () => {
    await gateway.stop();
    await upstream.stop();
  });

  afterEach(() => {
    upstream.received.length = 0;
  });

  it("swaps the agent's placeholder credentials for the real key, and counts tokens", async () => {
    const grant = gateway.grant();
    const response = await post(`${grant.baseUrl}/v1/messages?beta=true`, {
      'x-api-key': 'held-by-gateway',
      authorization: 'Bearer agent-supplied',
      'anthropic-version': '2023-06-01',
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ type: 'message' });
    expect(upstream.received).toHaveLength(1);
    const [sent] = upstream.received;
    expect(sent?.url).toBe('/proxy/v1/messages?beta=true');
    expect(sent?.headers['x-api-key']).toBe('sk-real-key');
    expect(sent?.headers.authorization).toBeUndefined();
    expect(sent?.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent?.body).toBe(MESSAGE_BODY);
    expect(grant.usage.snapshot()).toMatchObject({ inputTokens: 11, outputTokens: 7, requests: 1 });
    grant.revoke();
  });

  it('counts streamed responses per grant', async () => {
    upstream.respond = () => ({
      type: 'text/event-stream',
      body: [
        'event: message_start',
        `data: ${JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 100, output_tokens: 1, cache_read_input_tokens: 50 } } })}`,
        '',
        'event: message_delta',
        `data: ${JSON.stringify({ type: 'message_delta', usage: { output_tokens: 42 } })}`,
        '',
        '',
      ].join('\n'),
    });
    const mine = gateway.grant();
    const other = gateway.grant();
    const response = await post(`${mine.baseUrl}/v1/messages`);
    expect(await response.text()).toContain('message_delta');

    expect(mine.usage.snapshot()).toMatchObject({
      inputTokens: 100,
      cacheReadInputTokens: 50,
      outputTokens: 42,
      requests: 1,
    });
    expect(other.usage.snapshot().requests).toBe(0);
    mine.revoke();
    other.revoke();
  });

  it('refuses requests without a token, with a wrong one, or with a revoked one', async () => {
    const grant = gateway.grant();
    const origin = new URL(grant.baseUrl).origin;
    const token = new URL(grant.baseUrl).pathname.split('/')[2] ?? '';
    const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;

    const attempts = [
      `${origin}/v1/messages`,
      `${origin}/t/${wrong}/v1/messages`,
      `${origin}/t/${token}x/v1/messages`,
      `${origin}/t//v1/messages`,
    ];
    for (const url of attempts) {
      const response = await post(url, { 'x-api-key': 'sk-real-key' });
      expect(response.status, url).toBe(401);
      expect(await response.json()).toMatchObject({ error: { type: 'authentication_error' } });
    }
    expect((await post(`${grant.baseUrl}/v1/messages`)).status).toBe(200);

    grant.revoke();
    const afterRevoke = await post(`${grant.baseUrl}/v1/messages`);
    expect(afterRevoke.status).toBe(401);
    // Only the one request made with the live token reached the model.
    expect(upstream.received).toHaveLength(1);
  });

  it('forwards model calls only, not the rest of the API the key could reach', async () => {
    const grant = gateway.grant();
    const refused = [
      ['POST', '/v1/messages/batches'],
      ['GET', '/v1/files'],
      ['DELETE', '/v1/files/file_1'],
      ['GET', '/v1/messages'],
      ['POST', '/v1/messages/../files'],
      ['POST', '/model/x/invoke/../../guardrail'],
    ];
    for (const [method, path] of refused) {
      const response = await fetch(`${grant.baseUrl}${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(await response.json()).toMatchObject({ error: { type: 'permission_error' } });
    }
    expect((await post(`${grant.baseUrl}/v1/messages/count_tokens`)).status).toBe(200);
    expect(upstream.received.map((request) => request.url)).toEqual([
      '/proxy/v1/messages/count_tokens',
    ]);
    grant.revoke();
  });

  it('answers 502 when the upstream cannot be reached', async () => {
    const unreachable = new ModelGateway(
      anthropicUpstream({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9' }),
    );
    await unreachable.start();
    try {
      const response = await post(`${unreachable.grant().baseUrl}/v1/messages`);
      expect(response.status).toBe(502);
    } finally {
      await unreachable.stop();
    }
  });

  it('listens on loopback only', async () => {
    expect(new URL(gateway.grant().baseUrl).hostname).toBe('127.0.0.1');
  });
});

describe('ModelGateway with Bedrock', () => {
  const upstream = new Upstream();
  const credentials = {
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLEGATEWAY01',
    AWS_SECRET_ACCESS_KEY: 'gateway-test-secret-access-key',
    AWS_SESSION_TOKEN: 'gateway-test-session-token',
  };
  const saved = new Map<string, string | undefined>();
  let gateway: ModelGateway;

  beforeAll(async () => {
    // The default credential chain reads these first, as it would a Lambda role's.
    for (const [name, value] of Object.entries(credentials)) {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    }
    const endpoint = await upstream.start();
    gateway = new ModelGateway(bedrockUpstream({ region: 'eu-west-1', endpoint }));
    await gateway.start();
  });

  afterAll(async () => {
    await gateway.stop();
    await upstream.stop();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('signs each request with SigV4 from the parent process credentials', async () => {
    const grant = gateway.grant();
    const response = await fetch(`${grant.baseUrl}/model/test-model/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer from-agent' },
      body: MESSAGE_BODY,
    });
    grant.revoke();

    expect(response.status).toBe(200);
    const [sent] = upstream.received;
    if (!sent) throw new Error('nothing reached the upstream');
    expect(sent.url).toBe('/model/test-model/invoke');
    expect(sent.headers['x-amz-security-token']).toBe(credentials.AWS_SESSION_TOKEN);
    const authorization = String(sent.headers.authorization);
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLEGATEWAY01\/\d{8}\/eu-west-1\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    expect(authorization).toBe(
      expectedAuthorization(sent, credentials.AWS_SECRET_ACCESS_KEY, 'eu-west-1', 'bedrock'),
    );
    expect(authorization).not.toContain('from-agent');
  });

  it("counts tokens from Bedrock's binary event stream and from invoke's JSON", async () => {
    // A streamed answer as Bedrock frames it: each chunk event holds one Messages API event.
    const stream = encodeBedrockEventStream([
      {
        type: 'message_start',
        message: { usage: { input_tokens: 120, output_tokens: 1, cache_read_input_tokens: 30 } },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 17 } },
      {
        type: 'message_stop',
        'amazon-bedrock-invocationMetrics': { inputTokenCount: 120, outputTokenCount: 17 },
      },
    ]);
    upstream.respond = (request) =>
      request.url.endsWith('/invoke-with-response-stream')
        ? { type: BEDROCK_EVENT_STREAM, body: stream }
        : request.url.endsWith('/count-tokens')
          ? { body: JSON.stringify({ input_tokens: 999 }) }
          : {
              body: JSON.stringify({
                type: 'message',
                usage: { input_tokens: 5, output_tokens: 3 },
              }),
            };
    const grant = gateway.grant();
    const call = (path: string) =>
      fetch(`${grant.baseUrl}${path}`, { method: 'POST', body: MESSAGE_BODY });

    const streamed = await call('/model/test-model/invoke-with-response-stream');
    // The agent gets the stream byte for byte.
    expect(Buffer.from(await streamed.arrayBuffer()).equals(stream)).toBe(true);
    await (await call('/model/test-model/invoke')).text();
    await (await call('/model/test-model/count-tokens')).text();
    grant.revoke();

    expect(grant.usage.snapshot()).toEqual({
      inputTokens: 125,
      outputTokens: 20,
      cacheReadInputTokens: 30,
      cacheCreationInputTokens: 0,
      requests: 2,
    });
  });
});

/**
 * Computes the SigV4 Authorization header for a request as the upstream
 * received it, independently of the SDK that signed it: if the gateway
 * signed something else than what it sent, the two differ.
 */
function expectedAuthorization(
  request: Received,
  secret: string,
  region: string,
  service: string,
): string {
  const authorization = String(request.headers.authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1] ?? '';
  const credential = /Credential=([^,]+)/.exec(authorization)?.[1] ?? '';
  const amzDate = String(request.headers['x-amz-date']);
  const date = amzDate.slice(0, 8);
  const url = new URL(request.url, 'http://upstream');
  const query = [...url.searchParams]
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .sort()
    .join('&');
  const canonicalHeaders = signedHeaders
    .split(';')
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
  const canonicalRequest = [
    request.method,
    url.pathname,
    query,
    canonicalHeaders,
    signedHeaders,
    sha256(request.body),
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const hmac = (key: string | Buffer, data: string) =>
    createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

describe('ModelGateway with a model that goes silent or fails', () => {
  /** How the stand-in model answers the next request. */
  let behaviour: 'silent' | 'silent-mid-stream' | 'error' | 'ok' = 'ok';
  let server: Server;
  let gateway: ModelGateway;
  const open = new Set<import('node:http').ServerResponse>();

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      for await (const _ of req);
      open.add(res);
      res.once('close', () => open.delete(res));
      if (behaviour === 'silent') return;
      if (behaviour === 'error') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"type":"error","error":{"type":"api_error","message":"down"}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message_start\ndata: {"type":"message_start","message":{"usage":{}}}\n\n');
      if (behaviour === 'ok') res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n');
    });
    const port = await listenOnLoopback(server);
    gateway = new ModelGateway(
      anthropicUpstream({ apiKey: 'sk-real-key', baseUrl: `http://127.0.0.1:${port}` }),
      { firstByteTimeoutMs: 150, idleTimeoutMs: 150 },
    );
    await gateway.start();
  });

  afterAll(async () => {
    await gateway.stop();
    for (const res of open) res.destroy();
    await closeServer(server);
  });

  it('answers 529 overloaded when the model sends nothing in time, and counts a failure', async () => {
    behaviour = 'silent';
    const grant = gateway.grant();
    const response = await post(`${grant.baseUrl}/v1/messages`);
    expect(response.status).toBe(529);
    expect(await response.json()).toMatchObject({ error: { type: 'overloaded_error' } });
    expect(grant.health).toEqual({ calls: 1, failures: 1, lastFailed: true });
    grant.revoke();
  });

  it('ends a stream that goes silent with an overloaded error event', async () => {
    behaviour = 'silent-mid-stream';
    const grant = gateway.grant();
    const response = await post(`${grant.baseUrl}/v1/messages`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('message_start');
    expect(text).toMatch(/event: error\ndata: .*overloaded_error/);
    expect(grant.health.lastFailed).toBe(true);
    grant.revoke();
  });

  it('counts a 5xx as a failure and a later answer as recovery', async () => {
    const grant = gateway.grant();
    behaviour = 'error';
    expect((await post(`${grant.baseUrl}/v1/messages`)).status).toBe(500);
    expect(grant.health).toEqual({ calls: 1, failures: 1, lastFailed: true });
    behaviour = 'ok';
    const response = await post(`${grant.baseUrl}/v1/messages`);
    expect(await response.text()).toContain('message_stop');
    expect(grant.health).toEqual({ calls: 2, failures: 1, lastFailed: false });
    grant.revoke();
  });
});
