/**
 * The baseline for the service benchmark: an express 5 app in its own tsx process, parsing a JSON
 * body with the same body parser settings as the key service and answering `{ ok: true }`.
 * Whatever the service costs above this is our code (auth, crypto, audit), not the framework.
 */
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: 4 * 1024 * 1024, strict: true }));
app.post('/noop', (_req, res) => {
  res.json({ ok: true });
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`noop server listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
