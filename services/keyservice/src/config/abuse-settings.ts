import { isIP } from 'node:net';
import { isCidr } from '@byok/egress';
import { z } from 'zod';
import { optInt, optRate, rateDoc, setting, type SettingTree } from './setting.js';

/** An address express's `trust proxy` accepts: an IP, a CIDR, or one of its named ranges. */
function isTrustedProxyAddress(a: string): boolean {
  return isIP(a) !== 0 || isCidr(a) || ['loopback', 'linklocal', 'uniquelocal'].includes(a);
}

/** Rate limits, denial aggregation, trusted proxies and the egress allow-list. */
export const abuseSettings = {
  rateLimit: {
    ipRps: setting(
      'RATE_LIMIT_IP_RPS',
      optRate.describe(rateDoc('client address, before authentication', 200)),
    ),
    ipBurst: setting(
      'RATE_LIMIT_IP_BURST',
      optInt(1, 1e7).describe('bucket size per client address (default 2 x its rate)'),
    ),
    tokenRps: setting('RATE_LIMIT_TOKEN_RPS', optRate.describe(rateDoc('bearer token', 500))),
    tokenBurst: setting(
      'RATE_LIMIT_TOKEN_BURST',
      optInt(1, 1e7).describe('bucket size per token (default 2 x its rate)'),
    ),
    tenantRps: setting(
      'RATE_LIMIT_TENANT_RPS',
      optRate.describe(rateDoc('tenant, after the permission check', 1000)),
    ),
    tenantBurst: setting(
      'RATE_LIMIT_TENANT_BURST',
      optInt(1, 1e7).describe('bucket size per tenant (default 2 x its rate)'),
    ),
    redisUrl: setting(
      'RATE_LIMIT_REDIS_URL',
      z
        .string()
        .regex(/^rediss?:\/\//)
        .optional()
        .describe('redis:// URL: buckets shared by every instance (default: in memory per instance)'),
    ),
  },
  auditDenialWindowSeconds: setting(
    'AUDIT_DENIAL_WINDOW_SECONDS',
    optInt(0, 3600).describe(
      'denials of one token against one foreign tenant are audited at most once per window, with details.count (default 60 in production, 0 = every denial in development)',
    ),
  ),
  trustProxy: setting(
    'TRUST_PROXY',
    z
      .string()
      .default('off')
      .transform((v): false | number | string[] => {
        const t = v.trim().toLowerCase();
        if (t === '' || t === 'off' || t === 'false' || t === '0') return false;
        if (/^\d+$/.test(t)) return Number(t);
        return t
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x.length > 0);
      })
      .refine(
        (v) => v === false || typeof v === 'number' || v.every(isTrustedProxyAddress),
        'expected off, a hop count (1 = the one proxy in front), or comma-separated proxy addresses/CIDRs (or loopback, linklocal, uniquelocal)',
      )
      .describe(
        'trust X-Forwarded-For from these proxies, for the per-address limit and audit clientAddress (default off: the peer address; a hop count, or proxy CIDRs)',
      ),
  ),
  egressAllowCidrs: setting(
    'EGRESS_ALLOW_CIDRS',
    z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((c) => c.trim())
          .filter((c) => c.length > 0),
      )
      .refine((cidrs) => cidrs.every(isCidr), 'expected comma-separated CIDRs such as 127.0.0.0/8')
      .describe(
        'CIDRs outbound calls may reach although private or loopback (comma-separated; tests: 127.0.0.0/8)',
      ),
  ),
} satisfies SettingTree;
