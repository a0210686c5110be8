import type { Db } from '@byok/store';
import type { Logger } from '../../../logger.js';
import type { AuditRecorder } from '../../audit/audit-recorder.js';
import type { JobRunner } from '../../jobs/job-runner.js';
import { AiBudgetService } from './ai-budget-service.js';
import { createAiMetering, type AiMetering } from './ai-metering.js';
import type { PriceTable } from './price-table.js';
import { SpikeDetector } from './spike-detector.js';

export type { AiMetering } from './ai-metering.js';
export { loadPriceTable } from './price-table.js';

/** The metering settings of the service's configuration (AI_* variables). */
export interface AiMeteringSettings {
  defaultMaxOutputTokens: number;
  reservationTtlSeconds: number;
  spikeCheckIntervalSeconds: number;
}

/** How often an instance gives back expired reservations and prunes old hourly rows. */
const JANITOR_EVERY_MS = 60_000;

/**
 * Builds the AI metering of one instance: the metering port, the budget and usage service of the routes, and two
 * jobs: the janitor (expired reservations, old rows) and the spike detector.
 */
export function buildAiMetering(deps: {
  settings: AiMeteringSettings;
  /** The price table (loadPriceTable(AI_PRICES_FILE), read before the service opens anything). */
  prices: PriceTable;
  db: Db;
  audit: AuditRecorder;
  jobs: JobRunner;
  logger: Logger;
  suspendSecret?: ((tenantId: string, secretName: string, reason: string) => Promise<void>) | undefined;
  /** Which of a tenant's scopes are capped, cached (see `AiMeteringDeps.capScopes`). */
  capScopes?: (tenantId: string) => Promise<ReadonlySet<string>>;
  /** Called after a cap is set or removed (the cache above is invalidated on every instance). */
  capsChanged?: (tenantId: string) => Promise<void>;
}): { metering: AiMetering; budgets: AiBudgetService; spikes: SpikeDetector } {
  const metering = createAiMetering({
    db: deps.db,
    audit: deps.audit,
    prices: deps.prices,
    defaultMaxOutputTokens: deps.settings.defaultMaxOutputTokens,
    reservationTtlMs: deps.settings.reservationTtlSeconds * 1000,
    ...(deps.capScopes ? { capScopes: deps.capScopes } : {}),
  });
  const spikes = new SpikeDetector({
    db: deps.db,
    audit: deps.audit,
    logger: deps.logger,
    ...(deps.suspendSecret ? { suspendSecret: deps.suspendSecret } : {}),
  });
  deps.jobs.add({
    name: 'ai-metering-janitor',
    schedule: { kind: 'interval', everyMs: JANITOR_EVERY_MS },
    run: async () => {
      const n = await metering.sweepExpired();
      if (n > 0) deps.logger.warn({ expired: n }, 'ai metering: expired spend reservations given back');
      await metering.prune();
    },
  });
  deps.jobs.add(spikes.task(deps.settings.spikeCheckIntervalSeconds * 1000));
  return {
    metering,
    budgets: new AiBudgetService({
      db: deps.db,
      audit: deps.audit,
      ...(deps.capsChanged ? { capsChanged: deps.capsChanged } : {}),
    }),
    spikes,
  };
}
