import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on a free port of 127.0.0.1 and resolves with the port. Loopback
 * only: what listens this way (the model gateway, test servers) must not be
 * reachable from another machine.
 */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stops a server now: open keep-alive and streaming connections are cut
 * rather than waited for (a streaming model reply would hold `close` open).
 */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
