import { EgressGuard } from '@byok/egress';
import type { Pool } from '@byok/store';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { JobRunner } from '../jobs/job-runner.js';
import { AuditCheckpointer } from './audit-checkpointer.js';
import { AuditDispatcher } from './audit-dispatcher.js';
import { AuditKeyring } from './audit-keyring.js';
import type { AuditRecorder } from './audit-recorder.js';
import { loadAuditSigningKey, loadSinkSecretKey, type AuditSigningKey } from './audit-signing-key.js';
import { AuditSinkService } from './audit-sinks.js';

/** What the security-team audit routes need beyond the audit query side. */
export interface AuditSecurity {
  signingKey: AuditSigningKey;
  /** The trusted public keys checkpoints are verified with. */
  keyring: AuditKeyring;
  sinks: AuditSinkService;
  checkpointer: AuditCheckpointer;
  dispatcher: AuditDispatcher;
}

/**
 * Loads the checkpoint signing key (registering its public key in the keyring) and the sink
 * secret key, re-seals sink secrets still under the old derived key, and hands the two
 * background jobs of the audit log to the runner: periodic signed checkpoints and SIEM sink
 * delivery. Stopping the runner stops them.
 */
export async function startAuditSecurity(opts: {
  config: Config;
  pool: Pool;
  logger: Logger;
  jobs: JobRunner;
  audit: AuditRecorder;
  /** The guard sink connections go through (default: one on `EGRESS_ALLOW_CIDRS` and system DNS). */
  egress?: EgressGuard | undefined;
}): Promise<AuditSecurity> {
  const { config, pool, logger, jobs } = opts;
  const keyFiles = { dataDir: config.dataDir, production: config.production, logger };
  const signingKey = await loadAuditSigningKey({ file: config.audit.signingKeyFile, ...keyFiles });
  const sinkKey = await loadSinkSecretKey({ file: config.audit.sinkSecretKeyFile, ...keyFiles });
  const { keyring, rotated } = await AuditKeyring.start({
    db: pool,
    signer: signingKey.signer,
    trustedKeysFile: config.audit.trustedPublicKeysFile,
  });
  if (rotated) {
    logger.info({ keyId: signingKey.signer.keyId }, 'new audit signing key added to the keyring');
    await opts.audit.record(
      {},
      {
        tenantId: null,
        action: 'audit.key.add',
        outcome: 'success',
        resource: `audit/keys/${signingKey.signer.keyId}`,
      },
    );
  }
  const egress = opts.egress ?? new EgressGuard({ allowCidrs: config.egressAllowCidrs });
  const sinks = new AuditSinkService(pool, sinkKey, config.production, {
    perTenant: config.audit.sinksPerTenant,
    egress,
  });
  const moved = await sinks.resealLegacy(signingKey.legacySinkSecretKey);
  if (moved.resealed > 0)
    logger.info({ sinks: moved.resealed }, 'SIEM sink secrets re-sealed under SINK_SECRET_KEY_FILE');
  if (moved.unreadable.length > 0) {
    // Sealed under an earlier signing key's derived key: the operator must re-register these sinks.
    logger.error(
      { sinks: moved.unreadable },
      'SIEM sink secrets open under neither the sink key nor the current signing key: re-register these sinks',
    );
  }
  const checkpointer = new AuditCheckpointer(
    pool,
    signingKey.signer,
    opts.audit,
    logger,
    config.audit.checkpointIntervalSeconds,
    () => keyring.signingKeyRetired(),
  );
  const dispatcher = new AuditDispatcher({
    pool,
    sinks,
    logger,
    egress,
    pollMs: config.audit.sinkPollMs,
    timeoutMs: config.audit.sinkTimeoutMs,
    backoffMs: config.audit.sinkBackoffMs,
    maxBackoffMs: config.audit.sinkMaxBackoffMs,
  });
  jobs.add(checkpointer.task());
  jobs.add(dispatcher.task());
  return { signingKey, keyring, sinks, checkpointer, dispatcher };
}
