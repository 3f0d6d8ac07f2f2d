/**
 * A TCP proxy on 127.0.0.1 in front of the test PostgreSQL, so a test can cut
 * one real connection at a chosen moment (a network fault, not a mock).
 */
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far, in order. */
  readonly connections: net.Socket[];
  /** Resets the n-th connection (0-based) as a dropped network would. */
  cut(index: number): void;
  /**
   * Black-holes every connection, open and new, as a network that stops
   * delivering would: the sockets stay open, nothing is forwarded any more.
   */
  stall(): void;
  close(): Promise<void>;
}

export async function startProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const connections: net.Socket[] = [];
  const upstreams: net.Socket[] = [];
  let stalled = false;
  const server = net.createServer((client) => {
    if (stalled) {
      connections.push(client);
      client.pause();
      client.on('error', () => client.destroy());
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    connections.push(client);
    upstreams.push(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    stall() {
      stalled = true;
      for (const [i, client] of connections.entries()) {
        const upstream = upstreams[i];
        if (upstream) {
          client.unpipe(upstream);
          upstream.unpipe(client);
          upstream.pause();
        }
        client.pause();
      }
    },
    cut(index) {
      connections[index]?.resetAndDestroy();
      upstreams[index]?.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of [...connections, ...upstreams]) s.destroy();
        server.close(() => resolve());
      }),
  };
}
