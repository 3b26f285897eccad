import { createServer, type Server } from 'node:http';
import { closeServer } from '../lib/http-server.js';

/** What the health endpoint reports; healthy when updates come in and the workers run. */
export interface HealthReport {
  receiving: boolean;
  workers: boolean;
  busy: number;
}

/**
 * `GET /healthz` on 127.0.0.1:`port`, for a container's health check (which
 * runs inside the container, so loopback is enough and nothing is exposed).
 * 200 with the report when healthy, 503 with it when not: polling that cannot
 * reach Telegram, or a worker pool that has stopped. Webhook mode also answers
 * `/healthz` on its own server; this one works in both modes.
 */
export async function startHealthServer(
  port: number,
  report: () => HealthReport,
): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/healthz') {
      res.writeHead(404).end();
      return;
    }
    const health = report();
    const healthy = health.receiving && health.workers;
    res
      .writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: healthy ? 'ok' : 'unhealthy', ...health }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => closeServer(server),
  };
}
