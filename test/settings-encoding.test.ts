// Settings files are UTF-8, decoded strictly (lib/config/optional-file.ts): a
// Latin-1 dwh.cfg (Windows' configparser default) or .env is refused with the
// file and line, exit 2, before anything connects, and without the line's text
// (it may hold a password). Before, the `ä` became U+FFFD and the warehouse
// refused the password without a word about why.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/temp-dir.ts';

const CFG = `[CLUSTER]
HOST=127.0.0.1
DB_NAME=dwh
DB_USER=dwhuser
DB_PASSWORD=Kennwort-Bär-42
DB_PORT=1
`;

test('a Latin-1 dwh.cfg: a clear error naming the file and line, exit 2, the password not shown', async (t) => {
  const dir = await tempDir(t, 'latin1-');
  const file = path.join(dir, 'dwh.cfg');
  await writeFile(file, Buffer.from(CFG, 'latin1'));
  const r = await runCli(['query', 'select 1', '--config', file]);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:5: not UTF-8 \\(byte 0xE4 at byte 23 of the line\\)`));
  t.regex(r.stderr, /Latin-1/);
  t.notRegex(r.stderr, /Kennwort/);
  // The same file saved as UTF-8 is read (the connection to port 1 then fails: exit 1, not 2).
  await writeFile(file, CFG);
  const utf8 = await runCli(['query', 'select 1', '--config', file]);
  t.notRegex(utf8.stderr, /not UTF-8/);
});

test('a Latin-1 .env (--env-file): the same error, for that file', async (t) => {
  const dir = await tempDir(t, 'latin1-');
  const file = path.join(dir, 'prod.env');
  await writeFile(file, Buffer.from('# Zugang\nPGHOST=127.0.0.1\nPGPORT=1\nPGPASSWORD=Kennwort-Bär-42\n', 'latin1'));
  const r = await runCli(['query', 'select 1'], {}, { envFile: file });
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /prod\.env:4: not UTF-8 \(byte 0xE4 at byte 22 of the line\)/);
  t.notRegex(r.stderr, /Kennwort/);
});
