import { z } from 'zod';
import { int, setting, type SettingTree } from './setting.js';

/** The audit writer, exports, checkpoints and SIEM sinks. */
export const auditSettings = {
  auditMaxBatch: setting(
    'AUDIT_MAX_BATCH',
    int(1, 5000, 256).describe('most audit events grouped into one commit'),
  ),
  audit: {
    exportsPerTenant: setting(
      'AUDIT_EXPORTS_PER_TENANT',
      int(1, 100, 2).describe(
        'audit exports one tenant may run at once per instance; more answer 429 EXPORT_BUSY',
      ),
    ),
    exportDeadlineMs: setting(
      'AUDIT_EXPORT_DEADLINE_MS',
      int(100, 3600000, 60000).describe(
        'an audit export (one database snapshot) is cut off after this, however slowly its client reads',
      ),
    ),
    signingKeyFile: setting(
      'AUDIT_SIGNING_KEY_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'Ed25519 private key (PKCS#8 PEM) signing audit checkpoints, one shared by every instance; required in production (development: generated under DATA_DIR)',
        ),
    ),
    sinkSecretKeyFile: setting(
      'SINK_SECRET_KEY_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'key (32 random bytes, base64 or hex, or a PEM) that seals SIEM sink secrets; required in production',
        ),
    ),
    trustedPublicKeysFile: setting(
      'AUDIT_TRUSTED_PUBLIC_KEYS_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'keyring (JSON, the GET /v1/audit/public-keys shape) the service verifies checkpoints with instead of the keys in the database',
        ),
    ),
    checkpointIntervalSeconds: setting(
      'AUDIT_CHECKPOINT_INTERVAL_SECONDS',
      int(0, 86400, 300).describe(
        'how often moved audit chains get a signed checkpoint (0 = off; on demand still works)',
      ),
    ),
    sinkPollMs: setting(
      'AUDIT_SINK_POLL_MS',
      int(10, 600000, 1000).describe(
        'how often the SIEM dispatcher looks for undelivered audit events (sinks)',
      ),
    ),
    sinkTimeoutMs: setting(
      'AUDIT_SINK_TIMEOUT_MS',
      int(100, 120000, 10000).describe('deadline of one SIEM webhook POST'),
    ),
    sinkBackoffMs: setting(
      'AUDIT_SINK_BACKOFF_MS',
      int(10, 600000, 1000).describe('first retry delay after a failed SIEM delivery (doubles per attempt)'),
    ),
    sinksPerTenant: setting(
      'SINKS_PER_TENANT',
      int(1, 1000, 5).describe('most SIEM sinks one tenant may register'),
    ),
    sinkMaxBackoffMs: setting(
      'AUDIT_SINK_MAX_BACKOFF_MS',
      int(10, 3600000, 300000).describe('longest retry delay of a failing SIEM sink'),
    ),
  },
} satisfies SettingTree;
