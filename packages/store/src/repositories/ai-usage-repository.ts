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

// The four counters a call touches, always in this order (tenant-wide before the secret, day before
// month), so that concurrent transactions lock them in the same order and never deadlock.
const COUNTER_KEYS = `(VALUES ($1::text, '', 'day', $3::date), ($1, '', 'month', $4::date),
                              ($1, $2::text, 'day', $3), ($1, $2, 'month', $4))`;

/** Usage, spend caps, reservations and spike markers of the AI gateway. SQL only here. */
export const aiUsageRepository = {
  /**
   * Reserves `amountMicros` on the tenant-wide and the secret's day and month counters, all or
   * none. Run inside a transaction: the counters are created if missing, then locked in one fixed
   * order (`FOR UPDATE`), checked against every cap that applies, and raised together. Returns
   * the first cap it would exceed (nothing changed) or undefined (reserved, reservation stored).
   */
  async reserve(tx: Db, r: NewAiReservation): Promise<AiCapHit | undefined> {
    await tx.query(
      `INSERT INTO ai_spend (tenant_id, secret_name, period, window_start)
       SELECT * FROM ${COUNTER_KEYS} AS k(tenant_id, secret_name, period, window_start)
       ON CONFLICT DO NOTHING`,
      [r.tenantId, r.secretName, r.day, r.month],
    );
    const { rows } = await tx.query<{
      secret_name: string;
      period: AiBudgetPeriod;
      spent_micros: string;
      reserved_micros: string;
      limit_micros: string | null;
    }>(
      `SELECT s.secret_name, s.period, s.spent_micros, s.reserved_micros, b.limit_micros
         FROM ai_spend s
         LEFT JOIN ai_budgets b
           ON b.tenant_id = s.tenant_id AND b.secret_name = s.secret_name AND b.period = s.period
        WHERE s.tenant_id = $1 AND s.secret_name IN ('', $2)
          AND ((s.period = 'day' AND s.window_start = $3) OR (s.period = 'month' AND s.window_start = $4))
        ORDER BY s.secret_name, s.period
          FOR UPDATE OF s`,
      [r.tenantId, r.secretName, r.day, r.month],
    );
    for (const row of rows) {
      if (row.limit_micros === null) continue;
      const hit = {
        secretName: row.secret_name,
        period: row.period,
        limitMicros: n(row.limit_micros),
        spentMicros: n(row.spent_micros),
        reservedMicros: n(row.reserved_micros),
      };
      if (hit.spentMicros + hit.reservedMicros + r.amountMicros > hit.limitMicros) return hit;
    }
    await tx.query(
      `UPDATE ai_spend s SET reserved_micros = s.reserved_micros + $5
         FROM ${COUNTER_KEYS} AS k(tenant_id, secret_name, period, window_start)
        WHERE s.tenant_id = k.tenant_id AND s.secret_name = k.secret_name AND s.period = k.period
          AND s.window_start = k.window_start`,
      [r.tenantId, r.secretName, r.day, r.month, r.amountMicros],
    );
    await tx.query(
      `INSERT INTO ai_reservations (id, tenant_id, secret_name, day, month, amount_micros, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [r.id, r.tenantId, r.secretName, r.day, r.month, r.amountMicros, r.now, r.expiresAt],
    );
    return undefined;
  },

  /**
   * Settles a reservation (inside a transaction): removes it, moves what it held to the real cost
   * on its four counters, and counts the call in the daily and hourly usage. A reservation already
   * gone (expired and swept) holds nothing any more: the cost is added to the record's windows.
   */
  async settle(tx: Db, reservationId: string, u: AiUsageRecord): Promise<void> {
    const { rows } = await tx.query<{ amount_micros: string; day: string; month: string }>(
      `DELETE FROM ai_reservations WHERE id = $1 AND tenant_id = $2
       RETURNING amount_micros, to_char(day, 'YYYY-MM-DD') AS day, to_char(month, 'YYYY-MM-DD') AS month`,
      [reservationId, u.tenantId],
    );
    const held = rows[0];
    const day = held?.day ?? u.day;
    const month = held?.month ?? u.month;
    const cost = u.costMicros ?? 0;
    await tx.query(
      `INSERT INTO ai_spend (tenant_id, secret_name, period, window_start, spent_micros)
       SELECT k.*, $5::bigint FROM ${COUNTER_KEYS} AS k(tenant_id, secret_name, period, window_start)
       ON CONFLICT (tenant_id, secret_name, period, window_start) DO UPDATE
         SET spent_micros = ai_spend.spent_micros + EXCLUDED.spent_micros,
             reserved_micros = greatest(0, ai_spend.reserved_micros - $6::bigint)`,
      [u.tenantId, u.secretName, day, month, cost, n(held?.amount_micros)],
    );
    await tx.query(
      `INSERT INTO ai_usage_daily (tenant_id, secret_name, model, day, calls, errors, unpriced_calls,
                                   input_tokens, cached_input_tokens, output_tokens, cost_micros)
       VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (tenant_id, day, secret_name, model) DO UPDATE SET
         calls = ai_usage_daily.calls + 1,
         errors = ai_usage_daily.errors + EXCLUDED.errors,
         unpriced_calls = ai_usage_daily.unpriced_calls + EXCLUDED.unpriced_calls,
         input_tokens = ai_usage_daily.input_tokens + EXCLUDED.input_tokens,
         cached_input_tokens = ai_usage_daily.cached_input_tokens + EXCLUDED.cached_input_tokens,
         output_tokens = ai_usage_daily.output_tokens + EXCLUDED.output_tokens,
         cost_micros = ai_usage_daily.cost_micros + EXCLUDED.cost_micros`,
      [
        u.tenantId,
        u.secretName,
        u.model,
        day,
        u.error ? 1 : 0,
        u.costMicros === undefined ? 1 : 0,
        u.inputTokens,
        u.cachedInputTokens,
        u.outputTokens,
        cost,
      ],
    );
    await tx.query(
      `INSERT INTO ai_usage_hourly (tenant_id, secret_name, hour, calls, cost_micros) VALUES ($1, $2, $3, 1, $4)
       ON CONFLICT (tenant_id, secret_name, hour) DO UPDATE SET
         calls = ai_usage_hourly.calls + 1, cost_micros = ai_usage_hourly.cost_micros + EXCLUDED.cost_micros`,
      [u.tenantId, u.secretName, u.hour, cost],
    );
  },

  /**
   * Gives a reservation back (inside a transaction): removes it and lowers its counters by what it
   * held. False when it is already gone (settled, released or swept), so nothing is given twice.
   */
  async release(tx: Db, reservationId: string): Promise<boolean> {
    const { rows } = await tx.query<{
      tenant_id: string;
      secret_name: string;
      day: string;
      month: string;
      amount_micros: string;
    }>(
      `DELETE FROM ai_reservations WHERE id = $1
       RETURNING tenant_id, secret_name, to_char(day, 'YYYY-MM-DD') AS day,
                 to_char(month, 'YYYY-MM-DD') AS month, amount_micros`,
      [reservationId],
    );
    const r = rows[0];
    if (!r) return false;
    await tx.query(
      `UPDATE ai_spend s SET reserved_micros = greatest(0, s.reserved_micros - $5)
         FROM ${COUNTER_KEYS} AS k(tenant_id, secret_name, period, window_start)
        WHERE s.tenant_id = k.tenant_id AND s.secret_name = k.secret_name AND s.period = k.period
          AND s.window_start = k.window_start`,
      [r.tenant_id, r.secret_name, r.day, r.month, r.amount_micros],
    );
    return true;
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

  /** True when a cap applies to the secret: a tenant-wide one or its own, of either period. */
  async hasBudget(db: Db, tenantId: string, secretName: string): Promise<boolean> {
    const { rows } = await db.query(
      "SELECT 1 FROM ai_budgets WHERE tenant_id = $1 AND secret_name IN ('', $2) LIMIT 1",
      [tenantId, secretName],
    );
    return rows.length > 0;
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
