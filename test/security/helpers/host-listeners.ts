import net from 'node:net';

/**
 * Listeners in the test process (the host side): a sandbox must not reach them. Each counts
 * the connections it accepted, so a test can show that nothing arrived.
 */
export interface HostListener {
  /** TCP port, or undefined for a unix socket. */
  readonly port: number | undefined;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

async function listen(server: net.Server, listenOn: net.ListenOptions): Promise<HostListener> {
  let count = 0;
  server.on('connection', (socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenOn, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : undefined,
    accepted: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A TCP listener on `host` (e.g. 127.0.0.1, ::1, 0.0.0.0) and a free port. */
export function listenTcp(host: string): Promise<HostListener> {
  return listen(net.createServer(), { host, port: 0 });
}

/** A unix stream listener at `path`; a leading NUL makes it abstract (Linux). */
export function listenUnix(path: string): Promise<HostListener> {
  return listen(net.createServer(), { path });
}
