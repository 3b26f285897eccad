import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.js';
import {
  MAX_UPDATE_BYTES,
  parseUpdateBody,
  SECRET_HEADER,
  secretMatches,
  type UpdateEnvelope,
} from './webhook-request.js';

/**
 * The local bot's webhook server: serves Telegram's POSTs on the URL's path
 * (and GET /healthz). A request is checked before its body is parsed: the
 * secret (401), the size (413 past MAX_UPDATE_BYTES), then the envelope (400
 * for anything that is not an update, `null` included); 200 once the update
 * is handled, 500 (Telegram redelivers) when that fails or takes too long.
 */

/** Handling a webhook update is a database insert; past this, let Telegram retry. */
const WEBHOOK_HANDLE_MS = 10_000;

export interface WebhookServerOptions {
  /** The path served (the public URL's). */
  path: string;
  secret: string;
  host: string;
  port: number;
  handleUpdate(update: UpdateEnvelope): Promise<void>;
  logger: Logger;
}

/** Resolves once the server listens. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<Server> {
  const { path, logger } = options;
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== path) {
      res.writeHead(404).end();
      return;
    }
    serveUpdate(req, res, options).catch((error: unknown) => {
      logger.error('webhook request failed', { error: errorMessage(error) });
      // 500 makes Telegram redeliver.
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}

async function serveUpdate(
  req: IncomingMessage,
  res: ServerResponse,
  options: WebhookServerOptions,
): Promise<void> {
  const { logger } = options;
  const given = req.headers[SECRET_HEADER];
  if (typeof given !== 'string' || !secretMatches(given, options.secret)) {
    logger.warn('rejected a webhook request without the secret', {
      secretPresent: given !== undefined,
    });
    refuse(req, res, 401);
    return;
  }
  const raw = await readBody(req, MAX_UPDATE_BYTES);
  if (raw === undefined) {
    logger.warn('rejected a webhook body over the size limit', {
      limitBytes: MAX_UPDATE_BYTES,
      contentLength: req.headers['content-length'],
    });
    refuse(req, res, 413);
    return;
  }
  const update = parseUpdateBody(raw);
  if (!update) {
    // Not from Telegram; 400 so that it is not retried.
    logger.warn('rejected a body that is not a Telegram update');
    res.writeHead(400).end();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`update not stored within ${WEBHOOK_HANDLE_MS} ms`)),
      WEBHOOK_HANDLE_MS,
    );
  });
  try {
    await Promise.race([options.handleUpdate(update), timeout]);
  } finally {
    clearTimeout(timer);
  }
  res.writeHead(200).end();
}

/**
 * The body as text, or undefined once it passes `limit` bytes (stated in
 * Content-Length or counted while reading): nothing more of it is read.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: string | undefined) => {
      req.off('data', onData).off('end', onEnd).off('error', reject);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      // Stop reading, but leave the connection up for the 413 (refuse closes it).
      req.pause();
      done(undefined);
    };
    const onEnd = () => done(Buffer.concat(chunks).toString('utf8'));
    req.on('data', onData).on('end', onEnd).on('error', reject);
  });
}

/**
 * Answers without reading (the rest of) the body, and closes the connection
 * once the answer is out, so that an unread body is not drained.
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: number): void {
  const socket = req.socket;
  res.writeHead(status, { connection: 'close' });
  res.end(() => socket?.destroy());
}
