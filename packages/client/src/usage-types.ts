import type {
  Budget as BudgetSchema,
  BudgetPeriod as BudgetPeriodSchema,
  PutBudgetRequest,
  UsageQuery,
  UsageReport as UsageReportSchema,
} from '@byok/contract';
import type { z } from 'zod';

/** A spend-cap period: the UTC day or month. */
export type AiBudgetPeriod = z.output<typeof BudgetPeriodSchema>;
/** `putTenantAiBudget` / `putSecretAiBudget` input. */
export type AiBudgetInput = z.input<typeof PutBudgetRequest>;
/** One spend cap with its current window's spend. */
export type AiBudget = z.output<typeof BudgetSchema>;
/** `getAiUsage` query. */
export type AiUsageQueryInput = z.input<typeof UsageQuery>;
/** The usage report (the cost dashboard's data). */
export type AiUsageReport = z.output<typeof UsageReportSchema>;
