import { z } from 'zod';
import { int, setting, type SettingTree } from './setting.js';

/** Mode, the API and metrics listeners, TLS and HTTP timeouts. */
export const listenerSettings = {
  mode: setting(
    'BYOK_MODE',
    z
      .enum(['production', 'development'])
      .default('production')
      .describe(
        'production unless set to development; development allows the local KMS, dev routes, the embedded database, failpoints and plain HTTP',
      ),
  ),
  nodeEnv: setting(
    'NODE_ENV',
    z
      .string()
      .optional()
      .describe(
        'does not select the mode (BYOK_MODE does); a refused production start names BYOK_MODE when this says development or test',
      ),
  ),
  host: setting('HOST', z.string().min(1).default('127.0.0.1').describe('address to listen on')),
  port: setting('PORT', int(0, 65535, 8080).describe('port to listen on (0 = any free port)')),
  tls: {
    certFile: setting(
      'TLS_CERT_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'server certificate chain (PEM); with TLS_KEY_FILE the API serves HTTPS only, reloaded on SIGHUP',
        ),
    ),
    keyFile: setting(
      'TLS_KEY_FILE',
      z.string().min(1).optional().describe('private key (PEM) of TLS_CERT_FILE'),
    ),
    clientCaFile: setting(
      'TLS_CLIENT_CA_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'CA certificates (PEM) of client certificates; service tokens then need a client certificate it issued',
        ),
    ),
    terminatedByProxy: setting(
      'TLS_TERMINATED_BY_PROXY',
      z
        .enum(['true', 'false'])
        .default('false')
        .transform((v) => v === 'true')
        .describe(
          'true: a proxy in front terminates TLS and the API serves plain HTTP (production needs this or TLS files)',
        ),
    ),
  },
  metrics: {
    host: setting(
      'METRICS_HOST',
      z.string().min(1).default('127.0.0.1').describe('address of the Prometheus /metrics listener'),
    ),
    port: setting(
      'METRICS_PORT',
      z
        .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)])
        .default(9464)
        .describe('port of the /metrics listener (0 = any free port, off = no metrics listener)'),
    ),
  },
  httpTimeouts: {
    headersMs: setting(
      'HTTP_HEADERS_TIMEOUT_MS',
      int(100, 120000, 10000).describe(
        'a client must send all request headers within this (slowloris guard); at most HTTP_REQUEST_TIMEOUT_MS',
      ),
    ),
    requestMs: setting(
      'HTTP_REQUEST_TIMEOUT_MS',
      int(100, 600000, 60000).describe('a client must send the whole request (headers and body) within this'),
    ),
    keepAliveMs: setting(
      'HTTP_KEEP_ALIVE_TIMEOUT_MS',
      int(100, 600000, 5000).describe('an idle keep-alive connection is closed after this'),
    ),
  },
} satisfies SettingTree;
