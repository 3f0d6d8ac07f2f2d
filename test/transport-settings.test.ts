// The transport settings (lib/config/transport.ts): each one parsed with its
// bounds, listed in .env.example for a newcomer to find, and the Data API
// client's connect timeout its own setting (it read S3_CONNECT_TIMEOUT_SECONDS).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { DEFAULT_TRANSPORT, TRANSPORT_SETTINGS, transportSettings } from '../lib/config/transport.ts';
import { createDataApiClient } from '../lib/db/data-api-connection.ts';

const PROJECT_DIR = path.resolve(import.meta.dirname, '..');

test('every transport setting is in .env.example', async (t) => {
  const example = await readFile(path.join(PROJECT_DIR, '.env.example'), 'utf8');
  const missing = TRANSPORT_SETTINGS.map((s) => s.name).filter((name) => !new RegExp(`^${name}=`, 'm').test(example));
  t.deepEqual(missing, []);
});

test('each setting takes a whole number within its bounds, and names itself when it does not', (t) => {
  for (const s of TRANSPORT_SETTINGS) {
    const problems: string[] = [];
    transportSettings({ [s.name]: String(s.max + 1) }, problems);
    t.deepEqual(problems, [`${s.name}: expected a whole number from ${s.min} to ${s.max}, got '${s.max + 1}'`]);
    const ok: string[] = [];
    transportSettings({ [s.name]: String(s.min) }, ok);
    t.deepEqual(ok, [], s.name);
  }
});

test('the Data API client connects within DATA_API_CONNECT_TIMEOUT_SECONDS, not the S3 one', async (t) => {
  const problems: string[] = [];
  const transport = transportSettings(
    { DATA_API_CONNECT_TIMEOUT_SECONDS: '7', S3_CONNECT_TIMEOUT_SECONDS: '3' },
    problems,
  );
  t.deepEqual(problems, []);
  t.is(transport.dataApiConnectTimeoutMs, 7000);
  t.is(DEFAULT_TRANSPORT.dataApiConnectTimeoutMs, 10_000);
  const client = createDataApiClient(
    { kind: 'data-api', target: { kind: 'serverless', workgroup: 'wg' }, database: 'dev' } as never,
    'us-west-2',
    transport,
  );
  const handler = client.config.requestHandler as unknown as {
    configProvider: Promise<{ connectionTimeout?: number }>;
  };
  t.is((await handler.configProvider).connectionTimeout, 7000);
  client.destroy();
});
