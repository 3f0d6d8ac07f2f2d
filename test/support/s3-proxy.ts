/**
 * An HTTP proxy on 127.0.0.1 in front of an S3 protocol server (s3rver), for
 * the tests and the benchmark: it counts the requests by kind, the GETs in
 * flight at once and the TCP connections opened to it (keep-alive reuses
 * them), and can hold every request for a fixed time before forwarding it, as
 * a network round trip to a real region would (`latencyMs`). With `replay`,
 * an object GET that s3rver answered once is answered again from memory (the
 * same status, headers and bytes), so that a benchmark measures the client
 * and the latency, not s3rver's own CPU (about 1.5 ms a request, more than
 * the client's); listings always go to s3rver.
 */
import http from 'node:http';

export interface S3ProxyCounts {
  list: number;
  get: number;
  head: number;
  other: number;
  inFlight: number;
  maxGetsInFlight: number;
  /** TCP connections the client opened to the proxy. */
  connections: number;
}

export interface S3Proxy {
  readonly url: string;
  readonly counts: S3ProxyCounts;
  close(): Promise<void>;
}

interface Recorded {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export async function startS3Proxy(
  target: string,
  options: { latencyMs?: number; replay?: boolean } = {},
): Promise<S3Proxy> {
  const to = new URL(target);
  const latency = options.latencyMs ?? 0;
  const counts: S3ProxyCounts = { list: 0, get: 0, head: 0, other: 0, inFlight: 0, maxGetsInFlight: 0, connections: 0 };
  const agent = new http.Agent({ keepAlive: true });
  const recorded = new Map<string, Recorded>();
  const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date']);
  const server = http.createServer((req, res) => {
    const isList = req.method === 'GET' && /[?&]list-type=2/.test(req.url ?? '');
    const isGet = req.method === 'GET' && !isList;
    if (isList) counts.list += 1;
    else if (isGet) counts.get += 1;
    else if (req.method === 'HEAD') counts.head += 1;
    else counts.other += 1;
    if (isGet) {
      counts.inFlight += 1;
      counts.maxGetsInFlight = Math.max(counts.maxGetsInFlight, counts.inFlight);
    }
    const forward = () => {
      const known = isGet && options.replay ? recorded.get(req.url ?? '') : undefined;
      if (known) {
        req.resume();
        res.writeHead(known.status, known.headers);
        res.end(known.body, () => (counts.inFlight -= 1));
        return;
      }
      const upstream = http.request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers, agent },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          if (isGet && options.replay && up.statusCode === 200) {
            const chunks: Buffer[] = [];
            up.on('data', (c: Buffer) => chunks.push(c));
            up.on('end', () =>
              recorded.set(req.url ?? '', {
                status: 200,
                headers: Object.fromEntries(Object.entries(up.headers).filter(([k]) => !hopByHop.has(k))),
                body: Buffer.concat(chunks),
              }),
            );
          }
          up.on('end', () => {
            if (isGet) counts.inFlight -= 1;
          });
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (latency > 0) {
      req.pause();
      setTimeout(forward, latency);
    } else {
      forward();
    }
  });
  server.on('connection', () => (counts.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
