import type { Pool } from '@byok/store';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { JobRunner } from '../jobs/job-runner.js';
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
 * Loads the checkpoint signing key and hands the two background jobs of the audit log to the
 * runner: periodic signed checkpoints and SIEM sink delivery. Stopping the runner stops them.
 */
export async function startAuditSecurity(opts: {
  config: Config;
  pool: Pool;
  logger: Logger;
  jobs: JobRunner;
}): Promise<AuditSecurity> {
  const { config, pool, logger, jobs } = opts;
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
  jobs.add(checkpointer.task());
  jobs.add(dispatcher.task());
  return { signingKey, sinks, checkpointer, dispatcher };
}
