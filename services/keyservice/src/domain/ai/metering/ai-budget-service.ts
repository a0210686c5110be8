import {
  aiUsageRepository,
  secretRepository,
  TENANT_WIDE,
  type AiBudgetPeriod,
  type AiUsageGroup,
  type Db,
} from '@byok/store';
import { AppError } from '../../../errors.js';
import type { AuditActor, AuditRecorder } from '../../audit/audit-recorder.js';
import { isCalendarDay, windowsOf } from './windows.js';

/** A cap as the API shows it. */
export interface BudgetView {
  scope: 'tenant' | 'secret';
  secretName?: string;
  period: AiBudgetPeriod;
  limitMicros: number;
  windowStart: string;
  spentMicros: number;
  reservedMicros: number;
  updatedAt: string;
}

/** Totals of one usage group (the store's group without its key). */
export type UsageTotals = Omit<AiUsageGroup, 'key'>;

/** What {@link AiBudgetService} needs. */
export interface AiBudgetServiceDeps {
  db: Db;
  audit: AuditRecorder;
  clock?: () => Date;
  /** Called after a cap is set or removed: every instance forgets which of the tenant's scopes are capped. */
  capsChanged?: (tenantId: string) => Promise<void>;
}

const DAY_MS = 86_400_000;
/** The longest usage report range (inclusive days). */
export const MAX_USAGE_DAYS = 366;

const invalid = (path: string, message: string) =>
  new AppError('VALIDATION_FAILED', message, { errors: [{ path, message }] });

/** Spend caps (set, remove, list with current spend) and the usage report of a tenant. */
export class AiBudgetService {
  private readonly clock: () => Date;

  constructor(private readonly deps: AiBudgetServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Sets a cap (audited first); a per-secret cap needs the secret to exist. */
  async set(
    tenantId: string,
    secretName: string | undefined,
    period: AiBudgetPeriod,
    limitMicros: number,
    actor: AuditActor,
  ): Promise<BudgetView> {
    if (secretName !== undefined && !(await secretRepository.get(this.deps.db, tenantId, secretName)))
      throw new AppError('NOT_FOUND', 'secret not found');
    await this.deps.audit.record(actor, {
      tenantId,
      action: 'ai.budget.set',
      outcome: 'success',
      resource: this.resource(tenantId, secretName),
      details: { secretName: secretName ?? null, period, limitMicros },
    });
    await aiUsageRepository.setBudget(this.deps.db, tenantId, secretName ?? TENANT_WIDE, period, limitMicros);
    await this.deps.capsChanged?.(tenantId);
    const view = (await this.list(tenantId)).find(
      (b) => (b.secretName ?? TENANT_WIDE) === (secretName ?? TENANT_WIDE) && b.period === period,
    );
    if (!view) throw new AppError('NOT_FOUND', 'budget not found');
    return view;
  }

  /** Removes a cap (audited before it is removed); NOT_FOUND when there is none. */
  async remove(
    tenantId: string,
    secretName: string | undefined,
    period: AiBudgetPeriod,
    actor: AuditActor,
  ): Promise<void> {
    const scope = secretName ?? TENANT_WIDE;
    const exists = (await this.list(tenantId)).some(
      (b) => (b.secretName ?? TENANT_WIDE) === scope && b.period === period,
    );
    if (!exists) throw new AppError('NOT_FOUND', 'no such budget');
    await this.deps.audit.record(actor, {
      tenantId,
      action: 'ai.budget.remove',
      outcome: 'success',
      resource: this.resource(tenantId, secretName),
      details: { secretName: secretName ?? null, period },
    });
    await aiUsageRepository.deleteBudget(this.deps.db, tenantId, scope, period);
    await this.deps.capsChanged?.(tenantId);
  }

  /** The tenant's caps with the spend of their current UTC window. */
  async list(tenantId: string): Promise<BudgetView[]> {
    const { day, month } = windowsOf(this.clock());
    const rows = await aiUsageRepository.listBudgets(this.deps.db, tenantId, day, month);
    return rows.map((r) => ({
      scope: r.secretName === TENANT_WIDE ? 'tenant' : 'secret',
      ...(r.secretName === TENANT_WIDE ? {} : { secretName: r.secretName }),
      period: r.period,
      limitMicros: r.limitMicros,
      windowStart: r.period === 'day' ? day : month,
      spentMicros: r.spentMicros,
      reservedMicros: r.reservedMicros,
      updatedAt: r.updatedAt.toISOString(),
    }));
  }

  /** Usage between two UTC days (inclusive; default the 30 days ending today), grouped, with totals. */
  async usage(
    tenantId: string,
    q: {
      from?: string | undefined;
      to?: string | undefined;
      groupBy?: 'day' | 'model' | 'secret' | undefined;
    },
  ) {
    const to = q.to ?? windowsOf(this.clock()).day;
    if (!isCalendarDay(to)) throw invalid('to', 'to: not a calendar day');
    const from = q.from ?? windowsOf(new Date(Date.parse(`${to}T00:00:00Z`) - 29 * DAY_MS)).day;
    if (!isCalendarDay(from)) throw invalid('from', 'from: not a calendar day');
    const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
    if (days < 1) throw invalid('from', 'from must not be after to');
    if (days > MAX_USAGE_DAYS) throw invalid('from', `at most ${MAX_USAGE_DAYS} days per report`);
    const groupBy = q.groupBy ?? 'day';
    const groups = await aiUsageRepository.usage(this.deps.db, tenantId, from, to, groupBy);
    const total: UsageTotals = {
      calls: 0,
      errors: 0,
      unpricedCalls: 0,
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
      costMicros: 0,
    };
    for (const g of groups) for (const k of Object.keys(total) as (keyof UsageTotals)[]) total[k] += g[k];
    return { from, to, groupBy, groups, total };
  }

  private resource(tenantId: string, secretName: string | undefined): string {
    return secretName === undefined
      ? `tenants/${tenantId}/ai/budget`
      : `tenants/${tenantId}/secrets/${secretName}/budget`;
  }
}
