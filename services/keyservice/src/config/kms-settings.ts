import { z } from 'zod';
import { kmsModules } from '../kms-modules.js';
import { commaList, int, setting, type SettingTree } from './setting.js';

/** KMS calls: deadline, retries, per-tenant budget and the enabled providers. */
export const kmsSettings = {
  timeoutMs: setting('KMS_TIMEOUT_MS', int(50, 60000, 5000).describe('deadline of one KMS call')),
  maxAttempts: setting('KMS_MAX_ATTEMPTS', int(1, 10, 4).describe('attempts for a throttled KMS call')),
  callsPerTenantPerSec: setting(
    'KMS_CALLS_PER_TENANT_PER_SEC',
    int(0, 100000, 100).describe(
      'KMS unwraps one tenant may cause per second (burst: one second; per instance, shared through RATE_LIMIT_REDIS_URL when set); past it KMS_THROTTLED without a KMS call; 0 = no limit',
    ),
  ),
  providers: setting(
    'KMS_PROVIDERS',
    z
      .string()
      .optional()
      .transform((v) => (v === undefined ? undefined : commaList(v)))
      .describe(
        `comma-separated providers to enable, of: ${kmsModules.names().join(', ')}; default: every one whose required settings are set`,
      ),
  ),
} satisfies SettingTree;
