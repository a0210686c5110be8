import { Redis } from 'ioredis';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Principal } from '../domain/tokens/token-service.js';

/** One bucket shape: refill rate per second and size; `rps === 0` turns the limit off. */
export interface BucketLimit {
  rps: number;
  burst: number;
}

/** The three limits: per client address (before authentication), per token, per tenant. */
export interface RateLimits {
  ip: BucketLimit;
  token: BucketLimit;
  tenant: BucketLimit;
}

/** The answer of one take: allowed, or refused with the wait until one token is back. */
export type Take = { ok: true } | { ok: false; retryAfterMs: number };

/** A store of token buckets keyed by string. */
export interface BucketStore {
  take(key: string, limit: BucketLimit): Promise<Take>;
  close(): Promise<void>;
}

/** In-memory buckets: one budget per instance, no I/O. */
export class MemoryBuckets implements BucketStore {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one token from `key`'s bucket (full when first seen). */
  take(key: string, limit: BucketLimit): Promise<Take> {
    return Promise.resolve(this.takeSync(key, limit));
  }

  /** Synchronous form of {@link take}. */
  takeSync(key: string, limit: BucketLimit): Take {
    const now = this.now();
    const b = this.buckets.get(key);
    const tokens = b ? Math.min(limit.burst, b.tokens + ((now - b.at) * limit.rps) / 1000) : limit.burst;
    if (tokens >= 1) {
      if (!b && this.buckets.size >= this.maxKeys) this.prune(now, limit);
      this.buckets.set(key, { tokens: tokens - 1, at: now });
      return { ok: true };
    }
    this.buckets.set(key, { tokens, at: now });
    return { ok: false, retryAfterMs: Math.ceil(((1 - tokens) * 1000) / limit.rps) };
  }

  /** Drops buckets that have refilled (they equal a fresh one), so many addresses cannot grow the map. */
  private prune(now: number, limit: BucketLimit): void {
    const fullAfterMs = (limit.burst * 1000) / limit.rps;
    for (const [k, v] of this.buckets) if (now - v.at >= fullAfterMs) this.buckets.delete(k);
    if (this.buckets.size >= this.maxKeys) this.buckets.clear();
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

// One atomic token bucket in Redis, timed by the Redis clock (instances' clocks may differ).
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1]) local burst = tonumber(ARGV[2])
local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local v = redis.call('HMGET', KEYS[1], 'k', 'at')
local tokens = tonumber(v[1]) or burst local at = tonumber(v[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local ok = 0 local wait = 0
if tokens >= 1 then tokens = tokens - 1 ok = 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'k', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {ok, wait}`;

/**
 * Buckets shared by every instance through Redis (one atomic script per take). When Redis does not
 * answer, the take falls back to this instance's memory buckets: limits stay on, per instance.
 */
export class RedisBuckets implements BucketStore {
  private readonly redis: Redis;
  private readonly fallback = new MemoryBuckets();
  private warned = false;

  constructor(
    url: string,
    private readonly logger: Logger,
    private readonly prefix = 'byok:rl:',
  ) {
    this.redis = new Redis(url, { enableOfflineQueue: true, maxRetriesPerRequest: 1, lazyConnect: false });
    this.redis.on('error', () => undefined);
  }

  /** Takes one token from the shared bucket `key`. */
  async take(key: string, limit: BucketLimit): Promise<Take> {
    try {
      const [ok, wait] = (await this.redis.eval(
        TAKE_SCRIPT,
        1,
        this.prefix + key,
        String(limit.rps),
        String(limit.burst),
      )) as [number, number];
      this.warned = false;
      return ok === 1 ? { ok: true } : { ok: false, retryAfterMs: wait };
    } catch (err) {
      if (!this.warned) this.logger.warn({ err }, 'rate-limit store unreachable: limiting per instance');
      this.warned = true;
      return this.fallback.take(key, limit);
    }
  }

  /** Closes the Redis connection. */
  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}

/** Applies the limits of {@link RateLimits} to requests; a refusal is `429 RATE_LIMITED` with Retry-After. */
export class RateLimiter {
  constructor(
    readonly limits: RateLimits,
    private readonly store: BucketStore,
  ) {}

  private async check(
    kind: keyof RateLimits,
    key: string,
    what: string,
    limit: BucketLimit = this.limits[kind],
  ): Promise<void> {
    if (limit.rps <= 0) return;
    const r = await this.store.take(`${kind}:${key}`, limit);
    if (!r.ok)
      throw new AppError('RATE_LIMITED', `too many requests for this ${what}`, {
        retryAfterSeconds: Math.max(1, Math.ceil(r.retryAfterMs / 1000)),
      });
  }

  /** Middleware run before authentication: a refused request costs no database work. */
  perAddress(): RequestHandler {
    return async (req: Request, _res: Response, next: NextFunction) => {
      await this.check('ip', req.ip ?? req.socket.remoteAddress ?? 'unknown', 'client address');
      next();
    };
  }

  /** Charges the authenticated token's bucket. */
  async perToken(principal: Principal): Promise<void> {
    await this.check('token', principal.tokenId, 'token');
  }

  /**
   * Charges the tenant's bucket (after the permission check, so a foreign token cannot spend it),
   * sized by the platform admin's override when the tenant has one. In Redis mode the shared
   * bucket takes the new size at its next take: every instance passes the same override.
   */
  async perTenant(tenantId: string, override?: BucketLimit | null): Promise<void> {
    await this.check('tenant', tenantId, 'tenant', this.tenantLimit(override));
  }

  /** The tenant's effective bucket: its override, else the default. */
  tenantLimit(override?: BucketLimit | null): BucketLimit {
    return override ?? this.limits.tenant;
  }

  /** Releases the bucket store. */
  close(): Promise<void> {
    return this.store.close();
  }
}

/** Settings as read by config.ts (each optional: unset means the mode's default). */
export interface RateLimitSettings {
  ipRps?: number | undefined;
  ipBurst?: number | undefined;
  tokenRps?: number | undefined;
  tokenBurst?: number | undefined;
  tenantRps?: number | undefined;
  tenantBurst?: number | undefined;
}

/** Resolves the limits: unset rates default to generous values in production and to off in development. */
export function resolveRateLimits(s: RateLimitSettings, production: boolean): RateLimits {
  const one = (rps: number | undefined, burst: number | undefined, fallback: number): BucketLimit => {
    const r = rps ?? (production ? fallback : 0);
    return { rps: r, burst: burst ?? Math.max(1, 2 * r) };
  };
  return {
    ip: one(s.ipRps, s.ipBurst, 200),
    token: one(s.tokenRps, s.tokenBurst, 500),
    tenant: one(s.tenantRps, s.tenantBurst, 1000),
  };
}
