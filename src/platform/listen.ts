// Starting and stopping network listeners: a promise that resolves with the bound port (so
// port 0 works for tests), and a close that also ends keep-alive connections.
import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';

interface ClosableServer extends Server {
  closeAllConnections?: () => void;
}

export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export function close(server: ClosableServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
