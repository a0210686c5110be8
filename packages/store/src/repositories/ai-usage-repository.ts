import type { Db } from './db.js';

/** A spend-cap period: the UTC day or the UTC calendar month. */
export type AiBudgetPeriod = 'day' | 'month';

/** The scope of a cap or counter: the tenant as a whole (`secretName` '') or one secret. */
export const TENANT_WIDE = '';

/** A stored cap with the spend of its current window. */
export interface AiBudgetRow {
  secretName: string;
  period: AiBudgetPeriod;
  limitMicros: number;
  updatedAt: Date;
  /** Settled spend in the window containing `asOf` (the caller's day or month). */
  spentMicros: number;
  /** Held by in-flight reservations in that window. */
  reservedMicros: number;
}

/** The counter that refused a reservation. */
export interface AiCapHit {
  secretName: string;
  period: AiBudgetPeriod;
  limitMicros: number;
  spentMicros: number;
  reservedMicros: number;
}

/** What a reservation records; `day` and `month` are the windows it is charged to (UTC dates). */
export interface NewAiReservation {
  id: string;
  tenantId: string;
  secretName: string;
  day: string;
  month: string;
  amountMicros: number;
  now: Date;
  expiresAt: Date;
}

/** One settled call as the usage tables count it. */
export interface AiUsageRecord {
  tenantId: string;
  secretName: string;
  model: string;
  /** Windows charged when the reservation is gone (released or expired): the settle time's. */
  day: string;
  month: string;
  hour: Date;
  error: boolean;
  /** Undefined when the model has no price (counted in `unpriced_calls`, not as free spend). */
  costMicros: number | undefined;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

/** One group of the usage report. */
export interface AiUsageGroup {
  key: string;
  calls: number;
  errors: number;
  unpricedCalls: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costMicros: number;
}

/** One secret's calls and spend in the current hour and its trailing baseline. */
export interface AiHourStats {
  tenantId: string;
  secretName: string;
  calls: number;
  costMicros: number;
  /** Totals over the baseline hours before the current one (absent hours count as zero). */
  baselineCalls: number;
  baselineCostMicros: number;
}

const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** Usage, spend caps, reservations and spike markers of the AI gateway. SQL only here. */
export const aiUsageRepository = {
  /**
   * Reserves `amountMicros` on the tenant-wide and the secret's day and month counters, all or
   * none, in one statement (`ai_reserve`, migration 0013): the counters are created if missing,
   * locked in one fixed order, checked against every cap that applies, and raised together.
   * Returns the first cap it would pass (nothing changed) or undefined (reserved, stored).
   */
  async reserve(db: Db, r: NewAiReservation): Promise<AiCapHit | undefined> {
    const { rows } = await db.query<{
      hit_secret: string;
      hit_period: AiBudgetPeriod;
      hit_limit: string;
      hit_spent: string;
      hit_reserved: string;
    }>('SELECT * FROM ai_reserve($1, $2, $3, $4, $5, $6, $7, $8)', [
      r.id,
      r.tenantId,
      r.secretName,
      r.day,
      r.month,
      r.amountMicros,
      r.now,
      r.expiresAt,
    ]);
    const hit = rows[0];
    if (!hit) return undefined;
    return {
      secretName: hit.hit_secret,
      period: hit.hit_period,
      limitMicros: n(hit.hit_limit),
      spentMicros: n(hit.hit_spent),
      reservedMicros: n(hit.hit_reserved),
    };
  },

  /**
   * Settles many calls in one statement (`ai_settle_many`, migration 0014): the same effect as
   * `ai_settle` (migration 0013) per call, with the rows aggregated first and locked in one fixed order.
   */
  async settleMany(db: Db, items: readonly { reservationId: string; usage: AiUsageRecord }[]): Promise<void> {
    if (items.length === 0) return;
    const col = <T>(f: (u: AiUsageRecord, id: string) => T): T[] =>
      items.map((i) => f(i.usage, i.reservationId));
    await db.query(
      `SELECT ai_settle_many($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::date[],
               $7::timestamptz[], $8::boolean[], $9::bigint[], $10::boolean[], $11::bigint[], $12::bigint[],
               $13::bigint[])`,
      [
        col((_u, id) => id),
        col((u) => u.tenantId),
        col((u) => u.secretName),
        col((u) => u.model),
        col((u) => u.day),
        col((u) => u.month),
        col((u) => u.hour),
        col((u) => u.error),
        col((u) => u.costMicros ?? 0),
        col((u) => u.costMicros === undefined),
        col((u) => u.inputTokens),
        col((u) => u.cachedInputTokens),
        col((u) => u.outputTokens),
      ],
    );
  },

  /** The scopes with a cap (any period): '' for the tenant-wide cap, else secret names. */
  async capScopes(db: Db, tenantId: string): Promise<string[]> {
    const { rows } = await db.query<{ secret_name: string }>(
      'SELECT DISTINCT secret_name FROM ai_budgets WHERE tenant_id = $1',
      [tenantId],
    );
    return rows.map((r) => r.secret_name);
  },

  /**
   * Gives a reservation back in one statement (`ai_release`): removes it and lowers its counters by
   * what it held. False when it is already gone (settled, released or swept): nothing is given twice.
   */
  async release(db: Db, reservationId: string): Promise<boolean> {
    const { rows } = await db.query<{ released: boolean }>('SELECT ai_release($1) AS released', [
      reservationId,
    ]);
    return rows[0]?.released === true;
  },

  /** Ids of reservations whose expiry is before `now` (a crashed or stalled instance's), oldest first. */
  async expiredReservations(db: Db, now: Date, limit: number): Promise<string[]> {
    const { rows } = await db.query<{ id: string }>(
      'SELECT id FROM ai_reservations WHERE expires_at < $1 ORDER BY expires_at LIMIT $2',
      [now, limit],
    );
    return rows.map((r) => r.id);
  },

  /** Deletes hourly usage and spike markers before `hourCutoff`, and idle counters of windows before `windowCutoff`. */
  async prune(db: Db, hourCutoff: Date, windowCutoff: string): Promise<void> {
    await db.query('DELETE FROM ai_usage_hourly WHERE hour < $1', [hourCutoff]);
    await db.query('DELETE FROM ai_spike_alerts WHERE hour < $1', [hourCutoff]);
    await db.query('DELETE FROM ai_spend WHERE window_start < $1 AND reserved_micros = 0', [windowCutoff]);
  },

  /** Sets (or replaces) a cap; `secretName` '' = tenant-wide. */
  async setBudget(
    db: Db,
    tenantId: string,
    secretName: string,
    period: AiBudgetPeriod,
    limitMicros: number,
  ): Promise<void> {
    await db.query(
      `INSERT INTO ai_budgets (tenant_id, secret_name, period, limit_micros) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, secret_name, period) DO UPDATE SET limit_micros = EXCLUDED.limit_micros,
         updated_at = now()`,
      [tenantId, secretName, period, limitMicros],
    );
  },

  /** Removes a cap; false when there was none. */
  async deleteBudget(db: Db, tenantId: string, secretName: string, period: AiBudgetPeriod): Promise<boolean> {
    const r = await db.query(
      'DELETE FROM ai_budgets WHERE tenant_id = $1 AND secret_name = $2 AND period = $3',
      [tenantId, secretName, period],
    );
    return (r.rowCount ?? 0) > 0;
  },

  /** The tenant's caps (tenant-wide first), each with the spend of the window holding `day`/`month`. */
  async listBudgets(db: Db, tenantId: string, day: string, month: string): Promise<AiBudgetRow[]> {
    const { rows } = await db.query<{
      secret_name: string;
      period: AiBudgetPeriod;
      limit_micros: string;
      updated_at: Date;
      spent_micros: string | null;
      reserved_micros: string | null;
    }>(
      `SELECT b.secret_name, b.period, b.limit_micros, b.updated_at, s.spent_micros, s.reserved_micros
         FROM ai_budgets b
         LEFT JOIN ai_spend s ON s.tenant_id = b.tenant_id AND s.secret_name = b.secret_name
          AND s.period = b.period AND s.window_start = CASE b.period WHEN 'day' THEN $2::date ELSE $3::date END
        WHERE b.tenant_id = $1 ORDER BY b.secret_name, b.period`,
      [tenantId, day, month],
    );
    return rows.map((r) => ({
      secretName: r.secret_name,
      period: r.period,
      limitMicros: n(r.limit_micros),
      updatedAt: r.updated_at,
      spentMicros: n(r.spent_micros),
      reservedMicros: n(r.reserved_micros),
    }));
  },

  /** Usage of a tenant between two UTC days (inclusive), grouped by day, model or secret. */
  async usage(
    db: Db,
    tenantId: string,
    from: string,
    to: string,
    groupBy: 'day' | 'model' | 'secret',
  ): Promise<AiUsageGroup[]> {
    const key = { day: "to_char(day, 'YYYY-MM-DD')", model: 'model', secret: 'secret_name' }[groupBy];
    const { rows } = await db.query<Record<string, string>>(
      `SELECT ${key} AS key, sum(calls) AS calls, sum(errors) AS errors, sum(unpriced_calls) AS unpriced,
              sum(input_tokens) AS input, sum(cached_input_tokens) AS cached, sum(output_tokens) AS output,
              sum(cost_micros) AS cost
         FROM ai_usage_daily WHERE tenant_id = $1 AND day BETWEEN $2 AND $3
        GROUP BY 1 ORDER BY 1`,
      [tenantId, from, to],
    );
    return rows.map((r) => ({
      key: String(r.key),
      calls: n(r.calls),
      errors: n(r.errors),
      unpricedCalls: n(r.unpriced),
      inputTokens: n(r.input),
      cachedInputTokens: n(r.cached),
      outputTokens: n(r.output),
      costMicros: n(r.cost),
    }));
  },

  /**
   * Every secret with calls in the hour starting at `hour`, with its calls and spend in that hour
   * and its totals over the `baselineHours` hours before it.
   */
  async hourStats(db: Db, hour: Date, baselineHours: number): Promise<AiHourStats[]> {
    const { rows } = await db.query<Record<string, string>>(
      `SELECT tenant_id, secret_name,
              sum(calls) FILTER (WHERE hour = $1) AS calls,
              sum(cost_micros) FILTER (WHERE hour = $1) AS cost,
              sum(calls) FILTER (WHERE hour < $1) AS base_calls,
              sum(cost_micros) FILTER (WHERE hour < $1) AS base_cost
         FROM ai_usage_hourly
        WHERE hour >= $1::timestamptz - make_interval(hours => $2) AND hour <= $1
        GROUP BY tenant_id, secret_name
       HAVING sum(calls) FILTER (WHERE hour = $1) > 0
        ORDER BY tenant_id, secret_name`,
      [hour, baselineHours],
    );
    return rows.map((r) => ({
      tenantId: String(r.tenant_id),
      secretName: String(r.secret_name),
      calls: n(r.calls),
      costMicros: n(r.cost),
      baselineCalls: n(r.base_calls),
      baselineCostMicros: n(r.base_cost),
    }));
  },

  /** Claims the one alert of a secret for an hour across every instance; false when already claimed. */
  async claimSpikeAlert(db: Db, tenantId: string, secretName: string, hour: Date): Promise<boolean> {
    const r = await db.query(
      'INSERT INTO ai_spike_alerts (tenant_id, secret_name, hour) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [tenantId, secretName, hour],
    );
    return (r.rowCount ?? 0) > 0;
  },

  /** Gives a claim back (its alert could not be recorded), so a later run retries it. */
  async unclaimSpikeAlert(db: Db, tenantId: string, secretName: string, hour: Date): Promise<void> {
    await db.query('DELETE FROM ai_spike_alerts WHERE tenant_id = $1 AND secret_name = $2 AND hour = $3', [
      tenantId,
      secretName,
      hour,
    ]);
  },
};
