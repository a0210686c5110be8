/**
 * The floor of any gateway that meets the fail-closed rule: a bare Node HTTP proxy in its
 * own process that, per request, commits one row to PostgreSQL (the audit write that must land
 * before the key is used), swaps the caller's credential for the provider key, and relays the
 * answer over a kept-alive upstream connection. No auth, no crypto, no metering, no hashing: what
 * the key service adds above this is its own work; this itself is the price of the extra hop and
 * the durable commit on this machine. UPSTREAM_URL, UPSTREAM_KEY, DATABASE_URL.
 */
import http from 'node:http';
import pg from 'pg';

const upstream = new URL(process.env.UPSTREAM_URL ?? '');
const key = process.env.UPSTREAM_KEY ?? '';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 16 });
await pool.query(
  'CREATE TABLE IF NOT EXISTS bench_floor_audit (id bigserial PRIMARY KEY, at timestamptz NOT NULL, path text NOT NULL)',
);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, noDelay: true });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    pool
      .query('INSERT INTO bench_floor_audit (at, path) VALUES (now(), $1)', [req.url ?? ''])
      .then(() => {
        const up = http.request(
          new URL(req.url ?? '/', upstream),
          {
            method: req.method,
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': String(body.length),
              authorization: `Bearer ${key}`,
            },
          },
          (ur) => {
            res.writeHead(ur.statusCode ?? 502, {
              'content-type': ur.headers['content-type'] ?? 'application/json',
            });
            ur.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        up.end(body);
      })
      .catch(() => {
        res.writeHead(503).end();
      });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`floor proxy (pid ${process.pid}) listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
