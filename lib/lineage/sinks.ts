/**
 * Where run events go: a JSON Lines file (--lineage-file) and an OpenLineage
 * HTTP endpoint (OPENLINEAGE_URL). A file gets one whole line per event in a
 * single append (O_APPEND: never interleaved with another writer's line, never
 * half a line before it), flushed to disk before the load goes on. The
 * endpoint gets a POST of the event as JSON, with OPENLINEAGE_API_KEY as a
 * Bearer token, and no more than OPENLINEAGE_TIMEOUT_SECONDS to answer with a
 * 2xx status. The caller (lib/lineage/load-lineage.ts) turns any failure into
 * a warning: lineage never fails a load.
 */
import { open } from 'node:fs/promises';
import type { LineageSettings } from '../config/config.ts';
import type { RunEvent } from './events.ts';

export interface LineageSink {
  /** For messages: the file, or the endpoint's URL (without credentials). */
  readonly description: string;
  send(event: RunEvent): Promise<void>;
}

export function fileSink(file: string): LineageSink {
  return {
    description: file,
    async send(event) {
      const handle = await open(file, 'a', 0o644);
      try {
        // One write of the whole line: with O_APPEND the kernel places it at the end in one piece.
        await handle.write(`${JSON.stringify(event)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
  };
}

/** The endpoint's URL as messages show it: no user or password. */
export function endpointUrl(settings: Pick<LineageSettings, 'url' | 'endpoint'>): URL {
  return new URL(`${settings.url}/${settings.endpoint}`);
}

export function httpSink(settings: LineageSettings): LineageSink {
  const url = endpointUrl(settings);
  const shown = new URL(url);
  shown.username = '';
  shown.password = '';
  return {
    description: shown.href,
    async send(event) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (settings.apiKey) headers['authorization'] = `Bearer ${settings.apiKey}`;
      if (url.username || url.password) {
        // fetch refuses credentials in the URL: sent as Basic authentication instead.
        const user = decodeURIComponent(url.username);
        const password = decodeURIComponent(url.password);
        headers['authorization'] ??= `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
        url.username = '';
        url.password = '';
      }
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(settings.timeoutMs),
        });
      } catch (err) {
        const e = err as Error;
        if (e.name === 'TimeoutError') throw new Error(`no answer within ${settings.timeoutMs / 1000} s`);
        const cause = (e.cause as Error | undefined)?.message;
        throw new Error(cause ? `${e.message}: ${cause}` : e.message);
      }
      // The body is not needed: read it so the connection is released.
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    },
  };
}
