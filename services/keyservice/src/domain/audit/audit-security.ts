import type { Pool } from '@byok/store';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { AuditCheckpointer } from './audit-checkpointer.js';
import { AuditDispatcher } from './audit-dispatcher.js';
import { loadAuditSigningKey, type AuditSigningKey } from './audit-signing-key.js';
import { AuditSinkService } from './audit-sinks.js';

/** What the security-team audit routes need beyond the audit query side. */
export interface AuditSecurity {
  signingKey: AuditSigningKey;
  sinks: AuditSinkService;
  checkpointer: AuditCheckpointer;
  dispatcher: AuditDispatcher;
}

/**
 * Loads the checkpoint signing key and starts the two background jobs of the audit log: periodic
 * signed checkpoints and SIEM sink delivery. `stop()` belongs in the service's close().
 */
export async function startAuditSecurity(opts: {
  config: Config;
  pool: Pool;
  logger: Logger;
}): Promise<{ security: AuditSecurity; stop(): Promise<void> }> {
  const { config, pool, logger } = opts;
  const signingKey = await loadAuditSigningKey({
    file: config.audit.signingKeyFile,
    dataDir: config.dataDir,
    logger,
  });
  const sinks = new AuditSinkService(pool, signingKey.sinkSecretKey, config.production);
  const checkpointer = new AuditCheckpointer(
    pool,
    signingKey.signer,
    logger,
    config.audit.checkpointIntervalSeconds,
  );
  const dispatcher = new AuditDispatcher({
    pool,
    sinks,
    logger,
    pollMs: config.audit.sinkPollMs,
    timeoutMs: config.audit.sinkTimeoutMs,
    backoffMs: config.audit.sinkBackoffMs,
    maxBackoffMs: config.audit.sinkMaxBackoffMs,
  });
  checkpointer.start();
  dispatcher.start();
  return {
    security: { signingKey, sinks, checkpointer, dispatcher },
    async stop() {
      await dispatcher.stop();
      await checkpointer.stop();
    },
  };
}
