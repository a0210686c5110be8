import net from 'node:net';

/** Where the benchmarks' database comes from, as printed. */
export type DatabaseSource = 'DATABASE_URL' | 'local PostgreSQL' | 'embedded PGlite';

/** The URL used when a PostgreSQL answers on 127.0.0.1:5432 and DATABASE_URL is not set. */
export const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

function answers(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

let found: Promise<DatabaseSource> | undefined;

/**
 * Finds PostgreSQL the way the tests do (test/global-setup.js): `DATABASE_URL` if set, else a
 * server answering on 127.0.0.1:5432 (then DATABASE_URL is set to it for this process and the
 * benchmarks it starts), else embedded PGlite. Prints the choice once; later calls return it.
 */
export function findDatabase(): Promise<DatabaseSource> {
  found ??= (async (): Promise<DatabaseSource> => {
    const say = (s: string) => process.stderr.write(`[bench] database: ${s}\n`);
    if (process.env.DATABASE_URL) {
      say(`DATABASE_URL (${new URL(process.env.DATABASE_URL).host})`);
      return 'DATABASE_URL';
    }
    if (await answers('127.0.0.1', 5432, 500)) {
      process.env.DATABASE_URL = LOCAL_POSTGRES_URL;
      say('PostgreSQL found on 127.0.0.1:5432 (set DATABASE_URL to choose another)');
      return 'local PostgreSQL';
    }
    say('no DATABASE_URL and nothing on 127.0.0.1:5432: embedded PGlite (figures are not comparable)');
    return 'embedded PGlite';
  })();
  return found;
}
