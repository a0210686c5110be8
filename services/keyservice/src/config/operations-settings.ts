import { z } from 'zod';
import { commaList, int, setting, type SettingTree } from './setting.js';

/** Shutdown, health probes, the KMS breaker, instance identity and failpoints. */
export const operationsSettings = {
  shutdownGraceMs: setting(
    'SHUTDOWN_GRACE_MS',
    int(0, 120000, 10000).describe('how long in-flight requests may finish on SIGTERM'),
  ),
  healthProbeIntervalSeconds: setting(
    'HEALTH_PROBE_INTERVAL_SECONDS',
    int(0, 3600, 30).describe('key-health probe interval per cached tenant (0 = off)'),
  ),
  breaker: {
    failureThreshold: setting(
      'BREAKER_FAILURE_THRESHOLD',
      int(1, 100, 3).describe('consecutive KMS outage errors that open a tenant circuit'),
    ),
    openMs: setting(
      'BREAKER_OPEN_MS',
      int(100, 600000, 5000).describe('how long an open circuit fails fast before a half-open trial'),
    ),
  },
  instanceId: setting(
    'INSTANCE_ID',
    z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .optional()
      .describe('name of this instance in logs and notifications (default: random)'),
  ),
  failpoints: setting(
    'FAILPOINTS',
    z
      .string()
      .optional()
      .transform(commaList)
      .describe('TEST ONLY: comma-separated crash points; refused in production'),
  ),
  jobs: {
    batchSize: setting(
      'ROTATION_BATCH_SIZE',
      int(1, 10000, 500).describe(
        'secret versions re-encrypted per batch (one transaction, one audit event) by a rotation job',
      ),
    ),
    pollMs: setting(
      'JOB_POLL_MS',
      int(10, 600000, 1000).describe('how often an idle instance looks for background jobs'),
    ),
    leaseMs: setting(
      'JOB_LEASE_MS',
      int(100, 600000, 30000).describe(
        "lease of a running job; a crashed holder's job is taken over after this long",
      ),
    ),
    retryMs: setting(
      'JOB_RETRY_MS',
      int(10, 600000, 1000).describe('first backoff of a job paused by a KMS failure; doubles up to 60 s'),
    ),
  },
} satisfies SettingTree;
