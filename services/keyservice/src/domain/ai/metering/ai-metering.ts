import { randomUUID } from 'node:crypto';
import { looksLikeKeyMaterial } from '@byok/audit';
import { aiUsageRepository, TENANT_WIDE, type AiCapHit, type AiUsageRecord, type Db } from '@byok/store';
import { AppError } from '../../../errors.js';
import type { AuditActor, AuditRecorder } from '../../audit/audit-recorder.js';
import type { AiCall, AiMeteringPort, AiReservation, AiUsage, UsageObserver } from '../metering-port.js';
import { costMicros, type PriceTable } from './price-table.js';
import { isFreeOperation, worstCaseUsage } from './reservation-size.js';
import { SettleQueue } from './settle-queue.js';
import { usageObserverFor } from './usage-observers.js';
import { hourOf, windowsOf } from './windows.js';

/** What {@link createAiMetering} needs. */
export interface AiMeteringDeps {
  db: Db;
  audit: AuditRecorder;
  prices: PriceTable;
  /** Time source (UTC windows, reservation expiry); tests inject one. */
  clock?: () => Date;
  /** Output tokens assumed when a request states no cap of its own (AI_DEFAULT_MAX_OUTPUT_TOKENS). */
  defaultMaxOutputTokens: number;
  /** How long a reservation holds its amount before the sweep gives it back (AI_RESERVATION_TTL_SECONDS). */
  reservationTtlMs: number;
  /**
   * The scopes of the tenant that have a cap ('' = tenant-wide, else secret names), from a cache
   * the budget writes invalidate on every instance. A call no cap applies to then holds nothing and
   * costs no round trip before it is sent (as `ai_reserve` would hold nothing). Absent: asked of
   * the database on every call (tests).
   */
  capScopes?: (tenantId: string) => Promise<ReadonlySet<string>>;
  /** Settles are written in batches: the longest one waits for others (default 10 ms). */
  settleLingerMs?: number;
}

/** The metering port plus the janitor work the job runner calls. */
export interface AiMetering extends AiMeteringPort {
  /** Gives back reservations whose expiry has passed (a crashed instance's); returns how many. */
  sweepExpired(limit?: number): Promise<number>;
  /** Deletes hourly rows and spike markers older than 8 days, and idle counters older than 62 days. */
  prune(): Promise<void>;
  /** Writes the settles still queued (shutdown). */
  close(): Promise<void>;
}

/** The reservation of a call that bills nothing (model listing, token counting): never stored. */
const FREE: AiReservation = Object.freeze({ id: 'free', reservedMicros: 0, held: false });

/** Id of a reservation no cap applied to: nothing stored, so settling finds nothing to give back. */
const UNHELD_ID = 'unheld';

/** PostgreSQL's deadlock and serialization failures: the batch was rolled back whole and may run again. */
const retryable = (err: unknown) => ['40P01', '40001'].includes((err as { code?: string }).code ?? '');

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A model name safe and short enough for an audit detail (never anything that looks like a key). */
function modelDetail(model: string | undefined): string {
  if (!model) return 'unknown';
  const m = model.slice(0, 100);
  return looksLikeKeyMaterial(m) ? 'redacted' : m;
}

/**
 * The gateway's metering: reserve a call's maximum cost against every spend cap that applies
 * (tenant-wide and the secret's own, per UTC day and month) before the upstream call, then settle
 * to the real cost read from the provider's usage fields, or release when nothing was sent.
 * Refusals are audited before they are thrown (fail closed: an audit failure refuses too).
 */
export function createAiMetering(deps: AiMeteringDeps): AiMetering {
  const clock = deps.clock ?? (() => new Date());
  const actor = (call: AiCall): AuditActor => call.actor ?? {};
  const resource = (call: AiCall) => `tenants/${call.tenantId}/secrets/${call.secretName}`;

  const refuseExceeded = async (call: AiCall, hit: AiCapHit, amount: number): Promise<never> => {
    await deps.audit.record(actor(call), {
      tenantId: call.tenantId,
      action: 'ai.budget.exceeded',
      outcome: 'denied',
      resource: resource(call),
      errorCode: 'BUDGET_EXCEEDED',
      details: {
        secretName: hit.secretName === '' ? null : hit.secretName,
        period: hit.period,
        limitMicros: hit.limitMicros,
        spentMicros: hit.spentMicros,
        reservedMicros: amount,
        model: modelDetail(call.model),
      },
    });
    const scope = hit.secretName === '' ? 'tenant-wide' : `secret ${hit.secretName}'s`;
    throw new AppError(
      'BUDGET_EXCEEDED',
      `the ${scope} ${hit.period === 'day' ? 'daily' : 'monthly'} AI spend cap of ${hit.limitMicros} micro-dollars ` +
        `would be exceeded (spent ${hit.spentMicros}, in flight ${hit.reservedMicros}, this call up to ${amount})`,
    );
  };

  const refuseUnpriced = async (call: AiCall): Promise<never> => {
    await deps.audit.record(actor(call), {
      tenantId: call.tenantId,
      action: 'ai.model.unpriced',
      outcome: 'denied',
      resource: resource(call),
      errorCode: 'MODEL_NOT_PRICED',
      details: { secretName: call.secretName, model: modelDetail(call.model) },
    });
    throw new AppError(
      'MODEL_NOT_PRICED',
      `model ${modelDetail(call.model)} has no price in the price table and a spend cap applies to ${call.secretName}; ` +
        'add it to AI_PRICES_FILE',
    );
  };

  const settles = new SettleQueue<{ reservationId: string; usage: AiUsageRecord }>({
    write: (items) => aiUsageRepository.settleMany(deps.db, items),
    maxBatch: 500,
    lingerMs: deps.settleLingerMs ?? 10,
    retryable,
  });

  // Without a cache, the database is asked on every call.
  const capScopes =
    deps.capScopes ??
    (async (tenantId: string) => new Set(await aiUsageRepository.capScopes(deps.db, tenantId)));

  /** Whether a cap (tenant-wide or the secret's own) applies to the call. */
  const capApplies = async (call: AiCall): Promise<boolean> => {
    const scopes = await capScopes(call.tenantId);
    return scopes.has(TENANT_WIDE) || scopes.has(call.secretName);
  };

  const costOf: AiMeteringPort['cost'] = (r, call, outcome) => {
    if (r.id === FREE.id) return 0;
    const price =
      deps.prices.price(call.provider, outcome.model) ?? deps.prices.price(call.provider, call.model);
    if (!price) return undefined;
    if (outcome.usage) return costMicros(price, outcome.usage);
    // A success whose usage never arrived (a stream without include_usage, a client that left
    // early) is charged its reservation, the most it could have cost, never zero.
    return outcome.status >= 400 ? 0 : r.reservedMicros;
  };

  return {
    async reserve(call) {
      if (isFreeOperation(call.operation)) return FREE;
      const now = clock();
      const { day, month } = windowsOf(now);
      const price = deps.prices.price(call.provider, call.model);
      const capped = await capApplies(call);
      // Never metered as free under a cap: with no price there is no cost to hold against it.
      if (!price && capped) await refuseUnpriced(call);
      const amount = price ? costMicros(price, worstCaseUsage(call, deps.defaultMaxOutputTokens)) : 0;
      // No cap applies: nothing to hold and no round trip (`ai_reserve` would hold nothing either).
      if (!capped) return { id: UNHELD_ID, reservedMicros: amount, held: false };
      const id = `res_${randomUUID()}`;
      const hit = await aiUsageRepository.reserve(deps.db, {
        id,
        tenantId: call.tenantId,
        secretName: call.secretName,
        day,
        month,
        amountMicros: amount,
        now,
        expiresAt: new Date(now.getTime() + deps.reservationTtlMs),
      });
      if (hit) await refuseExceeded(call, hit, amount);
      return { id, reservedMicros: amount, held: true };
    },

    observer(call: AiCall): UsageObserver {
      return usageObserverFor(call);
    },

    cost: costOf,

    async settle(r, call, outcome) {
      if (r.id === FREE.id) return { costMicros: 0 };
      const served = outcome.model ?? call.model;
      const error = outcome.status >= 400;
      const usage: AiUsage = outcome.usage ?? { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
      const cost = costOf(r, call, outcome);
      const now = clock();
      const { day, month } = windowsOf(now);
      await settles.push({
        reservationId: r.id,
        usage: {
          tenantId: call.tenantId,
          secretName: call.secretName,
          model: (served ?? 'unknown').slice(0, 200),
          day,
          month,
          hour: hourOf(now),
          error,
          costMicros: cost,
          inputTokens: usage.inputTokens,
          cachedInputTokens: usage.cachedInputTokens,
          outputTokens: usage.outputTokens,
        },
      });
      return { costMicros: cost };
    },

    async release(r) {
      if (!r.held) return;
      await aiUsageRepository.release(deps.db, r.id);
    },

    async sweepExpired(limit = 500) {
      const ids = await aiUsageRepository.expiredReservations(deps.db, clock(), limit);
      let n = 0;
      for (const id of ids) if (await aiUsageRepository.release(deps.db, id)) n += 1;
      return n;
    },

    close: () => settles.close(),

    async prune() {
      const now = clock().getTime();
      await aiUsageRepository.prune(
        deps.db,
        new Date(now - 8 * DAY_MS),
        windowsOf(new Date(now - 62 * DAY_MS)).day,
      );
    },
  };
}
