import { z } from 'zod';
import { Timestamp } from './common.js';

/** A UTC calendar day, `YYYY-MM-DD`. */
export const UtcDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC day: YYYY-MM-DD');

/** A spend-cap period: the UTC day or the UTC calendar month. */
export const BudgetPeriod = z.enum(['day', 'month']);

/** `PUT /v1/tenants/{t}/ai/budget` and `PUT .../secrets/{name}/budget` */
export const PutBudgetRequest = z.strictObject({
  period: BudgetPeriod,
  /** The cap in micro-dollars ($1 = 1,000,000); 0 refuses every priced call. */
  limitMicros: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

/** `DELETE` of a cap: which period's cap to remove. */
export const BudgetPeriodQuery = z.strictObject({ period: BudgetPeriod });

/** One spend cap with the spend of its current window. */
export const Budget = z.object({
  scope: z.enum(['tenant', 'secret']),
  /** The secret a per-secret cap applies to. */
  secretName: z.string().optional(),
  period: BudgetPeriod,
  limitMicros: z.number().int(),
  /** First UTC day of the current window (today, or the first of this month). */
  windowStart: UtcDay,
  /** Settled spend in the current window (micro-dollars). */
  spentMicros: z.number().int(),
  /** Held by calls in flight in the current window. */
  reservedMicros: z.number().int(),
  updatedAt: Timestamp,
});

/** `GET /v1/tenants/{t}/ai/budgets` */
export const BudgetList = z.object({ budgets: z.array(Budget) });

/** `GET /v1/tenants/{t}/usage` query: UTC days, inclusive (default: the last 30 days). */
export const UsageQuery = z.strictObject({
  from: UtcDay.optional(),
  to: UtcDay.optional(),
  groupBy: z.enum(['day', 'model', 'secret']).optional(),
});

const usageTotals = {
  calls: z.number().int(),
  /** Calls the upstream answered with an error status. */
  errors: z.number().int(),
  /** Calls whose model had no price: counted, their cost not in `costMicros`. */
  unpricedCalls: z.number().int(),
  inputTokens: z.number().int(),
  cachedInputTokens: z.number().int(),
  outputTokens: z.number().int(),
  costMicros: z.number().int(),
};

/** One group of the usage report (a day, a model or a secret). */
export const UsageGroup = z.object({ key: z.string(), ...usageTotals });

/** `GET /v1/tenants/{t}/usage` response: the cost dashboard's data. */
export const UsageReport = z.object({
  from: UtcDay,
  to: UtcDay,
  groupBy: z.enum(['day', 'model', 'secret']),
  groups: z.array(UsageGroup),
  total: z.object(usageTotals),
});
