// Test-database selection for every Jest project: DATABASE_URL if set; else a PostgreSQL answering
// on 127.0.0.1:5432 (as on these machines); else the harness falls back to embedded PGlite.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function reachable(host, port, ms) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

// SoftHSMv2 reads SOFTHSM2_CONF from the real environment when it initializes; a Jest worker's
// process.env is a copy that native code never sees, so the run sets it here: a fresh token
// directory per run, never the system token store, removed when the run ends.
function softHsmConf() {
  if (process.env.SOFTHSM2_CONF) return;
  const dir = mkdtempSync(join(tmpdir(), 'byok-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env.SOFTHSM2_CONF = conf;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}

export default async function globalSetup() {
  softHsmConf();
  if (process.env.DATABASE_URL) {
    process.stderr.write(`\n[tests] database: DATABASE_URL (${new URL(process.env.DATABASE_URL).host})\n`);
    return;
  }
  if (await reachable('127.0.0.1', 5432, 500)) {
    process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
    process.stderr.write(
      '\n[tests] database: PostgreSQL found on 127.0.0.1:5432 (set DATABASE_URL to choose another)\n',
    );
    return;
  }
  process.stderr.write(
    '\n[tests] database: no DATABASE_URL and nothing on 127.0.0.1:5432; tests use embedded PGlite where they can\n',
  );
}
