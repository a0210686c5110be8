import { envelopeBackend } from '@byok/envelope';
import { ConfigError, loadConfig } from './config.js';
import { openListeners } from './http/listeners.js';
import { createLogger } from './logger.js';
import { glibcTunables, mallocMode } from './malloc.js';
import { buildService } from './service.js';

/**
 * Composition root: config -> logger -> service (store, migrations, KMS registry, services, app)
 * -> listeners (API, metrics) -> certificate reload on SIGHUP, graceful shutdown on SIGTERM/SIGINT.
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
  const listeners = await openListeners(config, service, logger).catch(async (err: unknown) => {
    await service.close();
    throw err;
  });
  const url = listeners.api.url;
  const metricsUrl = listeners.metrics ? `${listeners.metrics.url}/metrics` : 'off';
  const tls = listeners.tls
    ? listeners.clientCertificates
      ? 'TLS, client certificates for service tokens'
      : 'TLS'
    : config.tls.terminatedByProxy
      ? 'plain HTTP behind a TLS-terminating proxy'
      : 'plain HTTP';
  const envelope = envelopeBackend();
  const malloc = mallocMode(config.glibcTunables);
  logger.info(
    { url, metrics: metricsUrl, mode: config.mode, tls, database: service.store.kind, envelope, malloc },
    'byok keyservice listening',
  );
  if (malloc === 'glibc-default' && config.production) {
    logger.warn(
      { malloc, GLIBC_TUNABLES: glibcTunables() },
      'glibc malloc defaults: large records page-fault their buffers in again; the image sets GLIBC_TUNABLES',
    );
  }
  process.stdout.write(
    `BYOK key service (${config.mode} mode, pid ${process.pid}) listening on ${url} (${tls}; database: ${service.store.kind}${service.store.kind === 'pglite' ? `, data in ${config.dataDir}` : ''}); metrics on ${metricsUrl}\n`,
  );
  if (service.generatedAdminToken) {
    process.stdout.write(
      `\nFirst start: a platform-admin token was generated. It is shown once; store it now:\n\n  ${service.generatedAdminToken}\n\n` +
        'Set BOOTSTRAP_ADMIN_TOKEN to choose it yourself on a fresh database.\n',
    );
  }

  // SIGHUP: serve a renewed certificate to new connections; open ones keep going undisturbed.
  process.on('SIGHUP', () => {
    listeners.reloadTls().catch((err: unknown) => {
      logger.error(
        { err: (err as Error).message },
        'TLS reload failed; still serving the previous certificate',
      );
    });
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    listeners
      .close(config.shutdownGraceMs)
      .then(() => service.close())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`keyservice failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
