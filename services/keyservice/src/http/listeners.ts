import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { Express } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/** One open listener: its server and the URL it answers on. */
export interface Listener {
  server: Server;
  url: string;
}

/** The service's listeners: the API (HTTPS or plain HTTP) and, unless turned off, the metrics port. */
export interface Listeners {
  api: Listener;
  /** Absent with `METRICS_PORT=off`. */
  metrics: Listener | undefined;
  /** Whether the API serves TLS itself (else a proxy in front terminates it, or development). */
  tls: boolean;
  /** Whether service tokens need a client certificate issued by `TLS_CLIENT_CA_FILE`. */
  clientCertificates: boolean;
  /**
   * Reads the certificate, key and client CA files again and serves them to new handshakes;
   * open connections keep theirs. Rejects (and keeps the old ones) when a file cannot be used.
   */
  reloadTls(): Promise<void>;
  /** Stops accepting, lets requests finish for `graceMs`, then closes what is left. */
  close(graceMs: number): Promise<void>;
}

type TlsFiles = Pick<SecureContextOptions, 'cert' | 'key' | 'ca'>;

async function readTlsFiles(tls: Config['tls']): Promise<TlsFiles> {
  if (!tls.certFile || !tls.keyFile) throw new Error('TLS_CERT_FILE and TLS_KEY_FILE are not set');
  const [cert, key, ca] = await Promise.all([
    readFile(tls.certFile),
    readFile(tls.keyFile),
    tls.clientCaFile ? readFile(tls.clientCaFile) : Promise.resolve(undefined),
  ]);
  return { cert, key, ...(ca ? { ca } : {}) };
}

async function listen(server: Server, port: number, host: string, scheme: string): Promise<Listener> {
  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { server, url: `${scheme}://${shownHost}:${bound}` };
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Server timeouts against slow clients (slowloris): headers, whole request, idle keep-alive.
 * Node checks the first two on a timer (30 s by default); checking at a quarter of the header
 * timeout (at most every second) cuts a slow client off within that margin of its deadline.
 */
export function serverTimeouts(t: Config['httpTimeouts']): ServerOptions {
  const headersTimeout = Math.min(t.headersMs, t.requestMs);
  return {
    headersTimeout,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(25, Math.floor(headersTimeout / 4))),
  };
}

/**
 * Opens the API listener (HTTPS only, TLS 1.2 or newer, when TLS files are set; client
 * certificates requested when `TLS_CLIENT_CA_FILE` is set) and the metrics listener.
 */
export async function openListeners(
  config: Pick<Config, 'host' | 'port' | 'tls' | 'metrics' | 'httpTimeouts'>,
  apps: { app: Express; metricsApp: Express },
  logger: Logger,
): Promise<Listeners> {
  const tls = Boolean(config.tls.certFile);
  const clientCertificates = tls && Boolean(config.tls.clientCaFile);
  const timeouts = serverTimeouts(config.httpTimeouts);
  let apiServer: Server;
  if (tls) {
    const files = await readTlsFiles(config.tls);
    apiServer = createHttpsServer(
      {
        ...timeouts,
        ...files,
        minVersion: 'TLSv1.2',
        // The certificate is asked for, not demanded at the handshake: health probes and admin
        // tools connect without one, and the authenticate step refuses a service token whose
        // connection has no certificate this CA issued (a clear 401 instead of a TLS alert).
        ...(clientCertificates ? { requestCert: true, rejectUnauthorized: false } : {}),
      },
      apps.app,
    );
  } else {
    apiServer = createHttpServer(timeouts, apps.app);
  }
  const api = await listen(apiServer, config.port, config.host, tls ? 'https' : 'http');
  let metrics: Listener | undefined;
  try {
    metrics =
      config.metrics.port === 'off'
        ? undefined
        : await listen(
            createHttpServer(timeouts, apps.metricsApp),
            config.metrics.port,
            config.metrics.host,
            'http',
          );
  } catch (err) {
    await closeServer(apiServer, 0);
    throw err;
  }

  return {
    api,
    metrics,
    tls,
    clientCertificates,
    async reloadTls() {
      if (!tls) return;
      const files = await readTlsFiles(config.tls);
      // Throws on a key that does not match the certificate, before anything is swapped.
      (apiServer as HttpsServer).setSecureContext({ ...files, minVersion: 'TLSv1.2' });
      logger.info({ certFile: config.tls.certFile }, 'TLS certificate reloaded');
    },
    async close(graceMs) {
      await Promise.all([
        closeServer(apiServer, graceMs),
        metrics ? closeServer(metrics.server, graceMs) : undefined,
      ]);
    },
  };
}
