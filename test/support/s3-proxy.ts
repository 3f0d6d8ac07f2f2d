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
 *
 * `faults` makes it a hostile store for the reliability tests: object GETs
 * answered with a cut body (chunked and then ended early, Content-Length kept
 * and the socket destroyed mid-body, or no bytes at all), held forever, or
 * refused with 503 SlowDown; a hook before a GET is forwarded (to overwrite
 * the object between listing and GET); listings in small pages, ignoring the
 * continuation token (the first page again and again), or held forever.
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

/** How the proxy answers one object GET instead of forwarding it as it is. */
export type GetFault = 'cut-chunked' | 'cut-reset' | 'empty' | 'stall' | 'slow-down';

export interface S3Faults {
  /** The fault for a GET of `key` ("bucket/key"); `attempt` counts the GETs of that key, from 1. */
  get?(key: string, attempt: number): GetFault | undefined;
  /** Awaited before a GET is forwarded. */
  beforeGet?(key: string, attempt: number): Promise<void>;
  /** Listings answer at most this many keys a page (max-keys). */
  listPageSize?: number;
  /**
   * Listings drop the continuation token: the store answers the first page
   * again, with s3rver's new token for the next page ('new-token') or always
   * the same one ('same-token').
   */
  ignoreContinuationToken?: 'new-token' | 'same-token';
  /** Listings are never answered. */
  stallList?: boolean;
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
  options: { latencyMs?: number; replay?: boolean; faults?: S3Faults } = {},
): Promise<S3Proxy> {
  const to = new URL(target);
  const latency = options.latencyMs ?? 0;
  const counts: S3ProxyCounts = { list: 0, get: 0, head: 0, other: 0, inFlight: 0, maxGetsInFlight: 0, connections: 0 };
  const agent = new http.Agent({ keepAlive: true });
  const recorded = new Map<string, Recorded>();
  const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date']);
  const faults = options.faults ?? {};
  const attempts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    if (Object.keys(faults).length > 0 && answerWithFault(req, res)) return;
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
  /** Handles the request when a fault applies to it (true), else leaves it to `forward`. */
  const answerWithFault = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const isList = req.method === 'GET' && url.searchParams.get('list-type') === '2';
    if (isList) {
      if (faults.stallList) {
        counts.list += 1;
        return true; // never answered
      }
      // A changed query no longer matches the request's signature: start s3rver with allowMismatchedSignatures.
      if (faults.listPageSize === undefined && !faults.ignoreContinuationToken) return false;
      if (faults.listPageSize !== undefined) url.searchParams.set('max-keys', String(faults.listPageSize));
      if (faults.ignoreContinuationToken) url.searchParams.delete('continuation-token');
      req.url = `${url.pathname}${url.search}`;
      if (faults.ignoreContinuationToken !== 'same-token') return false;
      counts.list += 1;
      void fetchUpstream(req).then((up) => {
        const body = Buffer.from(
          up.body
            .toString('utf8')
            .replace(
              /<NextContinuationToken>[^<]*<\/NextContinuationToken>/,
              '<NextContinuationToken>same-token</NextContinuationToken>',
            ),
        );
        res.writeHead(up.status, { ...up.headers, 'content-length': String(body.length) });
        res.end(body);
      });
      return true;
    }
    if (req.method !== 'GET') return false;
    const key = decodeURIComponent(url.pathname.slice(1));
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const fault = faults.get?.(key, attempt);
    if (!fault && !faults.beforeGet) return false;
    counts.get += 1;
    void (async () => {
      await faults.beforeGet?.(key, attempt);
      if (fault === 'stall') return; // never answered
      if (fault === 'slow-down') {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
        );
        return;
      }
      const up = await fetchUpstream(req);
      if (!fault || up.status >= 300) {
        res.writeHead(up.status, up.headers);
        res.end(up.body);
        return;
      }
      const half = up.body.subarray(0, Math.floor(up.body.length / 2));
      if (fault === 'empty') {
        res.writeHead(200, { ...up.headers, 'content-length': '0' });
        res.end();
      } else if (fault === 'cut-chunked') {
        const headers = { ...up.headers };
        delete headers['content-length'];
        res.writeHead(200, headers);
        res.write(half);
        res.end(); // a valid end of a chunked body, half of it
      } else {
        res.writeHead(200, up.headers);
        res.write(half, () => res.socket?.destroy());
      }
    })();
    return true;
  };
  const fetchUpstream = (req: http.IncomingMessage): Promise<Recorded> =>
    new Promise((resolve, reject) => {
      const upstream = http.request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers, agent },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () =>
            resolve({
              status: up.statusCode ?? 502,
              headers: Object.fromEntries(Object.entries(up.headers).filter(([k]) => !hopByHop.has(k))),
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      upstream.on('error', reject);
      req.pipe(upstream);
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
