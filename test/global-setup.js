// Test-database selection for every Jest project: DATABASE_URL if set; else a PostgreSQL answering
// on 127.0.0.1:5432 (as on these machines); else the harness falls back to embedded PGlite.
import net from 'node:net';

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

export default async function globalSetup() {
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
