import type { Server } from 'node:http';
import { envelopeBackend } from '@byok/envelope';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { glibcTunables, mallocMode } from './malloc.js';
import { buildService } from './service.js';

/**
 * Composition root: config -> logger -> service (store, migrations, KMS registry, services, app)
 * -> listen -> graceful shutdown on SIGTERM/SIGINT.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const service = await buildService(config, { logger });
  const server: Server = service.app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  const envelope = envelopeBackend();
  const malloc = mallocMode(config.glibcTunables);
  logger.info(
    { url, database: service.store.kind, env: config.env, envelope, malloc },
    'byok keyservice listening',
  );
  if (envelope.name !== 'native') {
    logger.warn({ envelope }, 'envelope runs on node:crypto (correct, about 3x slower per small record)');
  }
  if (malloc === 'glibc-default' && config.env === 'production') {
    logger.warn(
      { malloc, GLIBC_TUNABLES: glibcTunables() },
      'glibc malloc defaults: large records page-fault their buffers in again; the image sets GLIBC_TUNABLES',
    );
  }
  process.stdout.write(
    `BYOK key service listening on ${url} (database: ${service.store.kind}${service.store.kind === 'pglite' ? `, data in ${config.dataDir}` : ''})\n`,
  );
  if (service.generatedAdminToken) {
    process.stdout.write(
      `\nFirst start: a platform-admin token was generated. It is shown once; store it now:\n\n  ${service.generatedAdminToken}\n\n` +
        'Set BOOTSTRAP_ADMIN_TOKEN to choose it yourself on a fresh database.\n',
    );
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.warn('grace period over; closing remaining connections');
      server.closeAllConnections();
    }, config.shutdownGraceMs);
    force.unref();
    server.close(() => {
      service
        .close()
        .then(() => process.exit(0))
        .catch((err: unknown) => {
          logger.error({ err: (err as Error).message }, 'shutdown failed');
          process.exit(1);
        });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`keyservice failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
