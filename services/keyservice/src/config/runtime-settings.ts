import { z } from 'zod';
import { int, setting, type SettingTree } from './setting.js';

/** Storage, the bootstrap admin, logging, request limits, the envelope backend and caches. */
export const runtimeSettings = {
  dataDir: setting(
    'DATA_DIR',
    z
      .string()
      .min(1)
      .default('.data')
      .describe('where the embedded database and the local dev KMS keep their files'),
  ),
  databaseUrl: setting(
    'DATABASE_URL',
    z
      .string()
      .url()
      .optional()
      .describe('PostgreSQL URL; without it the embedded PGlite default runs under DATA_DIR'),
  ),
  databasePoolMax: setting(
    'DATABASE_POOL_MAX',
    int(1, 200, 20).describe('connections in the PostgreSQL pool'),
  ),
  databaseIdleInTransactionTimeoutMs: setting(
    'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS',
    int(0, 3600000, 90000).describe(
      'PostgreSQL ends a pooled session idle inside a transaction this long (idle_in_transaction_session_timeout); 0 = off',
    ),
  ),
  bootstrapAdminToken: setting(
    'BOOTSTRAP_ADMIN_TOKEN',
    z
      .string()
      .min(32, 'BOOTSTRAP_ADMIN_TOKEN must be at least 32 characters')
      .optional()
      .describe('registered as platform-admin on start if no admin exists'),
  ),
  bootstrapAdminTokenFile: setting(
    'BOOTSTRAP_ADMIN_TOKEN_FILE',
    z
      .string()
      .min(1)
      .optional()
      .describe('file holding the first platform-admin token, or its SHA-256 hex (never printed)'),
  ),
  logLevel: setting(
    'LOG_LEVEL',
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('pino log level'),
  ),
  bodyLimitBytes: setting(
    'BODY_LIMIT_BYTES',
    int(1024, 64 * 1024 * 1024, 4 * 1024 * 1024).describe('largest JSON body accepted'),
  ),
  envelopeBackend: setting(
    'ENVELOPE_BACKEND',
    z
      .enum(['node', 'native'])
      .default('node')
      .describe(
        'envelope crypto backend: node (node:crypto, default) or native (opt-in N-API addon; build it with `pnpm --filter @byok/envelope build:native`, else start fails)',
      ),
  ),
  /** `GLIBC_TUNABLES` as the process started with it (see malloc.ts). */
  glibcTunables: setting(
    'GLIBC_TUNABLES',
    z
      .string()
      .optional()
      .describe(
        'read by glibc at process start; the service only reports whether its malloc settings are in it',
      ),
  ),
  tokenCacheSeconds: setting(
    'TOKEN_CACHE_SECONDS',
    int(0, 300, 5).describe(
      'how long a verified token is remembered; revocations are broadcast, so this bounds them only if a notification is lost',
    ),
  ),
  tenantCacheMs: setting(
    'TENANT_CACHE_MS',
    int(0, 10000, 1000).describe('how long tenant state (lock, policy) is remembered between reads'),
  ),
} satisfies SettingTree;
