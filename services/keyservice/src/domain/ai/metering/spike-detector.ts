import {
  aiUsageRepository,
  tenantRepository,
  type AiHourStats,
  type Db,
  type TenantPolicy,
} from '@byok/store';
import type { Logger } from '../../../logger.js';
import type { AuditRecorder } from '../../audit/audit-recorder.js';
import type { JobTask } from '../../jobs/job-runner.js';
import { hourOf } from './windows.js';

/** The spike rule's settings of one tenant, defaults filled in. */
export interface SpikeRule {
  enabled: boolean;
  /** k: the current hour must exceed k x the trailing hourly mean. */
  factor: number;
  /** A spend spike also needs at least this much spend in the hour (micro-dollars). */
  minSpendMicros: number;
  /** A request-count spike also needs at least this many calls in the hour. */
  minRequests: number;
  autoSuspend: boolean;
}

/** Defaults of the spike rule (tenant policy `aiSpikes` overrides each). */
export const DEFAULT_SPIKE_RULE: SpikeRule = {
  enabled: true,
  factor: 5,
  minSpendMicros: 1_000_000,
  minRequests: 100,
  autoSuspend: false,
};

/** Hours of the trailing baseline: 7 days. */
export const BASELINE_HOURS = 7 * 24;

/** The tenant's rule: its policy's `aiSpikes` over the defaults. */
export function spikeRuleOf(policy: TenantPolicy | undefined): SpikeRule {
  const p = policy?.aiSpikes ?? {};
  return {
    enabled: p.enabled ?? DEFAULT_SPIKE_RULE.enabled,
    factor: p.factor ?? DEFAULT_SPIKE_RULE.factor,
    minSpendMicros: p.minSpendMicros ?? DEFAULT_SPIKE_RULE.minSpendMicros,
    minRequests: p.minRequests ?? DEFAULT_SPIKE_RULE.minRequests,
    autoSuspend: p.autoSuspend ?? DEFAULT_SPIKE_RULE.autoSuspend,
  };
}

/**
 * Which thresholds the current hour passes: spend when it exceeds k x the trailing hourly mean
 * and reaches the spend floor; requests likewise with the request floor. Integer arithmetic:
 * `x > k * total / hours` is tested as `x * hours > k * total`.
 */
export function spikeReasons(
  s: AiHourStats,
  rule: SpikeRule,
  hours = BASELINE_HOURS,
): ('spend' | 'requests')[] {
  const over = (x: number, total: number) => BigInt(x) * BigInt(hours) > BigInt(rule.factor) * BigInt(total);
  const reasons: ('spend' | 'requests')[] = [];
  if (s.costMicros >= rule.minSpendMicros && s.costMicros > 0 && over(s.costMicros, s.baselineCostMicros))
    reasons.push('spend');
  if (s.calls >= rule.minRequests && over(s.calls, s.baselineCalls)) reasons.push('requests');
  return reasons;
}

/** What {@link SpikeDetector} needs. */
export interface SpikeDetectorDeps {
  db: Db;
  audit: AuditRecorder;
  logger: Logger;
  clock?: () => Date;
  /**
   * Suspends a secret's AI use (tenant policy `aiSpikes.autoSuspend`). The gateway owns the
   * secret's AI state; absent = alerts only.
   */
  suspendSecret?: (tenantId: string, secretName: string, reason: string) => Promise<void>;
}

/**
 * Per secret, compares the current UTC hour's spend and calls with its trailing 7-day hourly mean
 * (absent hours count as zero), and on a spike records one `ai.usage.spike` audit event (which the
 * tenant's SIEM sinks deliver), at most once per secret and hour across every instance, then
 * optionally suspends the secret.
 */
export class SpikeDetector {
  private readonly clock: () => Date;

  constructor(private readonly deps: SpikeDetectorDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** One pass over every secret used this hour; returns the alerts this instance raised. */
  async run(): Promise<number> {
    const hour = hourOf(this.clock());
    const stats = await aiUsageRepository.hourStats(this.deps.db, hour, BASELINE_HOURS);
    const rules = new Map<string, SpikeRule | undefined>();
    let raised = 0;
    for (const s of stats) {
      if (!rules.has(s.tenantId)) {
        const t = await tenantRepository.get(this.deps.db, s.tenantId);
        rules.set(s.tenantId, t && t.state !== 'deleted' ? spikeRuleOf(t.policy) : undefined);
      }
      const rule = rules.get(s.tenantId);
      if (!rule?.enabled) continue;
      const reasons = spikeReasons(s, rule);
      if (reasons.length === 0) continue;
      if (!(await aiUsageRepository.claimSpikeAlert(this.deps.db, s.tenantId, s.secretName, hour))) continue;
      const reason = reasons.join('+');
      try {
        await this.deps.audit.record(
          {},
          {
            tenantId: s.tenantId,
            action: 'ai.usage.spike',
            outcome: 'success',
            resource: `tenants/${s.tenantId}/secrets/${s.secretName}`,
            details: {
              secretName: s.secretName,
              costMicros: s.costMicros,
              requestCount: s.calls,
              baselineMicros: Math.ceil(s.baselineCostMicros / BASELINE_HOURS),
              baselineRequests: Math.ceil(s.baselineCalls / BASELINE_HOURS),
              reason,
              ...(rule.autoSuspend && this.deps.suspendSecret ? { newState: 'suspension-requested' } : {}),
            },
          },
        );
      } catch (err) {
        // Not recorded: give the claim back so the next pass raises it.
        await aiUsageRepository.unclaimSpikeAlert(this.deps.db, s.tenantId, s.secretName, hour);
        throw err;
      }
      raised += 1;
      if (rule.autoSuspend && this.deps.suspendSecret) {
        try {
          await this.deps.suspendSecret(s.tenantId, s.secretName, `ai usage spike (${reason})`);
        } catch (err) {
          this.deps.logger.error(
            { tenantId: s.tenantId, secretName: s.secretName, err: (err as Error).message },
            'ai spike: automatic suspension failed',
          );
        }
      }
    }
    return raised;
  }

  /** The job: a pass every `everyMs` (0 = off). */
  task(everyMs: number): JobTask {
    return { name: 'ai-spike-detector', schedule: { kind: 'interval', everyMs }, run: () => this.run() };
  }
}
