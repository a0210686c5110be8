import type { KmsModuleConfigs } from '@byok/kms';
import { z } from 'zod';
import { isIP } from 'node:net';
import { isCidr } from '@byok/egress';
import { kmsModules } from './kms-modules.js';
import { productionProblems, tlsProblems } from './production-checks.js';

/** An address express's `trust proxy` accepts: an IP, a CIDR, or one of its named ranges. */
function isTrustedProxyAddress(a: string): boolean {
  return isIP(a) !== 0 || isCidr(a) || ['loopback', 'linklocal', 'uniquelocal'].includes(a);
}

/** One environment variable: its name, and the schema that parses, bounds, defaults and describes it. */
interface Setting<S extends z.ZodType = z.ZodType> {
  readonly env: string;
  readonly schema: S;
}

/** Declares the setting read from `env`; the schema carries type, default, bounds and `.describe()`. */
function setting<S extends z.ZodType>(env: string, schema: S): Setting<S> {
  return { env, schema };
}

interface SettingTree {
  readonly [key: string]: Setting | SettingTree;
}

/** The values of a tree of settings, with the same nesting. */
type Parsed<T> = { readonly [K in keyof T]: T[K] extends Setting<infer S> ? z.output<S> : Parsed<T[K]> };

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const optInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();
const optRate = z.coerce.number().min(0).max(1e6).optional();

const rateDoc = (what: string, fallback: number) =>
  `requests per second per ${what} (token bucket; 0 = off; default ${fallback} in production, off in development)`;

const commaList = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const upstreamUrl = (provider: string, fallback: string) =>
  z
    .string()
    .regex(
      /^https?:\/\/[^/?#@\s]+(\/[^?#\s]*)?$/,
      'expected http(s)://host[:port][/base] without credentials',
    )
    .transform((u) => u.replace(/\/$/, ''))
    .optional()
    .describe(
      `OPERATOR ONLY: base URL of the ${provider} API the AI gateway calls (default ${fallback}); always through the egress guard`,
    );

/** The AI gateway's settings (upstream URLs are the operator's to change, never a tenant's). */
const aiSettings = {
  openaiUrl: setting('AI_UPSTREAM_OPENAI_URL', upstreamUrl('OpenAI', 'https://api.openai.com')),
  anthropicUrl: setting('AI_UPSTREAM_ANTHROPIC_URL', upstreamUrl('Anthropic', 'https://api.anthropic.com')),
  googleUrl: setting(
    'AI_UPSTREAM_GOOGLE_URL',
    upstreamUrl('Google Gemini', 'https://generativelanguage.googleapis.com'),
  ),
  azureOpenaiUrl: setting(
    'AI_UPSTREAM_AZURE_OPENAI_URL',
    upstreamUrl('Azure OpenAI', 'the endpoint stored with each secret'),
  ),
  responseTimeoutMs: setting(
    'AI_UPSTREAM_TIMEOUT_MS',
    int(100, 3_600_000, 600_000).describe(
      'deadline from sending an AI request upstream to its response headers (504 AI_UPSTREAM_TIMEOUT)',
    ),
  ),
  idleTimeoutMs: setting(
    'AI_UPSTREAM_IDLE_TIMEOUT_MS',
    int(100, 3_600_000, 120_000).describe('longest silence of an AI upstream connection, streams included'),
  ),
  cacheMs: setting(
    'AI_CACHE_MS',
    int(0, 60_000, 1_000).describe(
      'longest an instance serves a cached AI secret row or cap list after a change on another instance whose notification it missed (changes are otherwise seen at once); 0 = no cache',
    ),
  ),
} satisfies SettingTree;

/**
 * Every setting of the service, each stated once: key in {@link Config}, variable name, type,
 * bound, default and description. Provider settings come from each registered KMS module's own
 * schema (see kms-modules.ts). This module is the only reader of `process.env`; no secret has a default.
 */
const SETTINGS = {
  mode: setting(
    'BYOK_MODE',
    z
      .enum(['production', 'development'])
      .default('production')
      .describe(
        'production unless set to development; development allows the local KMS, dev routes, the embedded database, failpoints and plain HTTP',
      ),
  ),
  nodeEnv: setting(
    'NODE_ENV',
    z
      .string()
      .optional()
      .describe(
        'does not select the mode (BYOK_MODE does); a refused production start names BYOK_MODE when this says development or test',
      ),
  ),
  host: setting('HOST', z.string().min(1).default('127.0.0.1').describe('address to listen on')),
  port: setting('PORT', int(0, 65535, 8080).describe('port to listen on (0 = any free port)')),
  tls: {
    certFile: setting(
      'TLS_CERT_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'server certificate chain (PEM); with TLS_KEY_FILE the API serves HTTPS only, reloaded on SIGHUP',
        ),
    ),
    keyFile: setting(
      'TLS_KEY_FILE',
      z.string().min(1).optional().describe('private key (PEM) of TLS_CERT_FILE'),
    ),
    clientCaFile: setting(
      'TLS_CLIENT_CA_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'CA certificates (PEM) of client certificates; service tokens then need a client certificate it issued',
        ),
    ),
    terminatedByProxy: setting(
      'TLS_TERMINATED_BY_PROXY',
      z
        .enum(['true', 'false'])
        .default('false')
        .transform((v) => v === 'true')
        .describe(
          'true: a proxy in front terminates TLS and the API serves plain HTTP (production needs this or TLS files)',
        ),
    ),
  },
  metrics: {
    host: setting(
      'METRICS_HOST',
      z.string().min(1).default('127.0.0.1').describe('address of the Prometheus /metrics listener'),
    ),
    port: setting(
      'METRICS_PORT',
      z
        .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)])
        .default(9464)
        .describe('port of the /metrics listener (0 = any free port, off = no metrics listener)'),
    ),
  },
  httpTimeouts: {
    headersMs: setting(
      'HTTP_HEADERS_TIMEOUT_MS',
      int(100, 120000, 10000).describe(
        'a client must send all request headers within this (slowloris guard); at most HTTP_REQUEST_TIMEOUT_MS',
      ),
    ),
    requestMs: setting(
      'HTTP_REQUEST_TIMEOUT_MS',
      int(100, 600000, 60000).describe('a client must send the whole request (headers and body) within this'),
    ),
    keepAliveMs: setting(
      'HTTP_KEEP_ALIVE_TIMEOUT_MS',
      int(100, 600000, 5000).describe('an idle keep-alive connection is closed after this'),
    ),
  },
  dataDir: setting(
    'DATA_DIR',
    z
      .string()
      .min(1)
      .default('.data')
      .describe('where the embedded database and the local dev KMS keep their files'),
  ),
  databaseUrl: setting(
    'DATABASE_URL',
    z
      .string()
      .url()
      .optional()
      .describe('PostgreSQL URL; without it the embedded PGlite default runs under DATA_DIR'),
  ),
  databasePoolMax: setting(
    'DATABASE_POOL_MAX',
    int(1, 200, 20).describe('connections in the PostgreSQL pool'),
  ),
  databaseIdleInTransactionTimeoutMs: setting(
    'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS',
    int(0, 3600000, 90000).describe(
      'PostgreSQL ends a pooled session idle inside a transaction this long (idle_in_transaction_session_timeout); 0 = off',
    ),
  ),
  bootstrapAdminToken: setting(
    'BOOTSTRAP_ADMIN_TOKEN',
    z
      .string()
      .min(32, 'BOOTSTRAP_ADMIN_TOKEN must be at least 32 characters')
      .optional()
      .describe('registered as platform-admin on start if no admin exists'),
  ),
  bootstrapAdminTokenFile: setting(
    'BOOTSTRAP_ADMIN_TOKEN_FILE',
    z
      .string()
      .min(1)
      .optional()
      .describe('file holding the first platform-admin token, or its SHA-256 hex (never printed)'),
  ),
  logLevel: setting(
    'LOG_LEVEL',
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('pino log level'),
  ),
  bodyLimitBytes: setting(
    'BODY_LIMIT_BYTES',
    int(1024, 64 * 1024 * 1024, 4 * 1024 * 1024).describe('largest JSON body accepted'),
  ),
  envelopeBackend: setting(
    'ENVELOPE_BACKEND',
    z
      .enum(['node', 'native'])
      .default('node')
      .describe(
        'envelope crypto backend: node (node:crypto, default) or native (opt-in N-API addon; build it with `pnpm --filter @byok/envelope build:native`, else start fails)',
      ),
  ),
  /** `GLIBC_TUNABLES` as the process started with it (see malloc.ts). */
  glibcTunables: setting(
    'GLIBC_TUNABLES',
    z
      .string()
      .optional()
      .describe(
        'read by glibc at process start; the service only reports whether its malloc settings are in it',
      ),
  ),
  tokenCacheSeconds: setting(
    'TOKEN_CACHE_SECONDS',
    int(0, 300, 5).describe(
      'how long a verified token is remembered; revocations are broadcast, so this bounds them only if a notification is lost',
    ),
  ),
  tenantCacheMs: setting(
    'TENANT_CACHE_MS',
    int(0, 10000, 1000).describe('how long tenant state (lock, policy) is remembered between reads'),
  ),
  kms: {
    timeoutMs: setting('KMS_TIMEOUT_MS', int(50, 60000, 5000).describe('deadline of one KMS call')),
    maxAttempts: setting('KMS_MAX_ATTEMPTS', int(1, 10, 4).describe('attempts for a throttled KMS call')),
    callsPerTenantPerSec: setting(
      'KMS_CALLS_PER_TENANT_PER_SEC',
      int(0, 100000, 100).describe(
        'KMS unwraps one tenant may cause per second (burst: one second; per instance, shared through RATE_LIMIT_REDIS_URL when set); past it KMS_THROTTLED without a KMS call; 0 = no limit',
      ),
    ),
    providers: setting(
      'KMS_PROVIDERS',
      z
        .string()
        .optional()
        .transform((v) => (v === undefined ? undefined : commaList(v)))
        .describe(
          `comma-separated providers to enable, of: ${kmsModules.names().join(', ')}; default: every one whose required settings are set`,
        ),
    ),
  },
  auditMaxBatch: setting(
    'AUDIT_MAX_BATCH',
    int(1, 5000, 256).describe('most audit events grouped into one commit'),
  ),
  audit: {
    exportsPerTenant: setting(
      'AUDIT_EXPORTS_PER_TENANT',
      int(1, 100, 2).describe(
        'audit exports one tenant may run at once per instance; more answer 429 EXPORT_BUSY',
      ),
    ),
    exportDeadlineMs: setting(
      'AUDIT_EXPORT_DEADLINE_MS',
      int(100, 3600000, 60000).describe(
        'an audit export (one database snapshot) is cut off after this, however slowly its client reads',
      ),
    ),
    signingKeyFile: setting(
      'AUDIT_SIGNING_KEY_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'Ed25519 private key (PKCS#8 PEM) signing audit checkpoints, one shared by every instance; required in production (development: generated under DATA_DIR)',
        ),
    ),
    sinkSecretKeyFile: setting(
      'SINK_SECRET_KEY_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'key (32 random bytes, base64 or hex, or a PEM) that seals SIEM sink secrets; required in production',
        ),
    ),
    trustedPublicKeysFile: setting(
      'AUDIT_TRUSTED_PUBLIC_KEYS_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'keyring (JSON, the GET /v1/audit/public-keys shape) the service verifies checkpoints with instead of the keys in the database',
        ),
    ),
    checkpointIntervalSeconds: setting(
      'AUDIT_CHECKPOINT_INTERVAL_SECONDS',
      int(0, 86400, 300).describe(
        'how often moved audit chains get a signed checkpoint (0 = off; on demand still works)',
      ),
    ),
    sinkPollMs: setting(
      'AUDIT_SINK_POLL_MS',
      int(10, 600000, 1000).describe(
        'how often the SIEM dispatcher looks for undelivered audit events (sinks)',
      ),
    ),
    sinkTimeoutMs: setting(
      'AUDIT_SINK_TIMEOUT_MS',
      int(100, 120000, 10000).describe('deadline of one SIEM webhook POST'),
    ),
    sinkBackoffMs: setting(
      'AUDIT_SINK_BACKOFF_MS',
      int(10, 600000, 1000).describe('first retry delay after a failed SIEM delivery (doubles per attempt)'),
    ),
    sinksPerTenant: setting(
      'SINKS_PER_TENANT',
      int(1, 1000, 5).describe('most SIEM sinks one tenant may register'),
    ),
    sinkMaxBackoffMs: setting(
      'AUDIT_SINK_MAX_BACKOFF_MS',
      int(10, 3600000, 300000).describe('longest retry delay of a failing SIEM sink'),
    ),
  },
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
  shutdownGraceMs: setting(
    'SHUTDOWN_GRACE_MS',
    int(0, 120000, 10000).describe('how long in-flight requests may finish on SIGTERM'),
  ),
  healthProbeIntervalSeconds: setting(
    'HEALTH_PROBE_INTERVAL_SECONDS',
    int(0, 3600, 30).describe('key-health probe interval per cached tenant (0 = off)'),
  ),
  breaker: {
    failureThreshold: setting(
      'BREAKER_FAILURE_THRESHOLD',
      int(1, 100, 3).describe('consecutive KMS outage errors that open a tenant circuit'),
    ),
    openMs: setting(
      'BREAKER_OPEN_MS',
      int(100, 600000, 5000).describe('how long an open circuit fails fast before a half-open trial'),
    ),
  },
  instanceId: setting(
    'INSTANCE_ID',
    z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .optional()
      .describe('name of this instance in logs and notifications (default: random)'),
  ),
  failpoints: setting(
    'FAILPOINTS',
    z
      .string()
      .optional()
      .transform(commaList)
      .describe('TEST ONLY: comma-separated crash points; refused in production'),
  ),
  aiMetering: {
    pricesFile: setting(
      'AI_PRICES_FILE',
      z
        .string()
        .min(1)
        .optional()
        .describe(
          'JSON price table overriding or extending the built-in AI model prices (micro-dollars per million tokens); a bad file stops the start',
        ),
    ),
    defaultMaxOutputTokens: setting(
      'AI_DEFAULT_MAX_OUTPUT_TOKENS',
      int(1, 10_000_000, 4096).describe(
        'output tokens an AI call is reserved for when its request states no max_tokens / max_output_tokens',
      ),
    ),
    reservationTtlSeconds: setting(
      'AI_RESERVATION_TTL_SECONDS',
      int(30, 86400, 900).describe(
        "how long an unsettled spend reservation holds its amount; a crashed instance's reservations are given back after this",
      ),
    ),
    spikeCheckIntervalSeconds: setting(
      'AI_SPIKE_CHECK_INTERVAL_SECONDS',
      int(0, 3600, 300).describe('how often each instance checks AI usage for spikes (0 = off)'),
    ),
  },
  jobs: {
    batchSize: setting(
      'ROTATION_BATCH_SIZE',
      int(1, 10000, 500).describe(
        'secret versions re-encrypted per batch (one transaction, one audit event) by a rotation job',
      ),
    ),
    pollMs: setting(
      'JOB_POLL_MS',
      int(10, 600000, 1000).describe('how often an idle instance looks for background jobs'),
    ),
    leaseMs: setting(
      'JOB_LEASE_MS',
      int(100, 600000, 30000).describe(
        "lease of a running job; a crashed holder's job is taken over after this long",
      ),
    ),
    retryMs: setting(
      'JOB_RETRY_MS',
      int(10, 600000, 1000).describe('first backoff of a job paused by a KMS failure; doubles up to 60 s'),
    ),
  },
  ai: aiSettings,
} satisfies SettingTree;

/** The parsed, frozen configuration: its shape is inferred from {@link SETTINGS}. */
export type Config = Parsed<typeof SETTINGS> & {
  /** `mode === 'production'` (BYOK_MODE is not `development`). */
  readonly production: boolean;
  readonly kms: {
    /** Each registered KMS module's settings, parsed by its own schema, by module name. */
    readonly modules: KmsModuleConfigs;
    /** The enabled providers: `KMS_PROVIDERS`, else every module whose required settings are set. */
    readonly providers: string[];
  };
};

/** A configuration that failed validation; `problems` lists each bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const isSetting = (v: Setting | SettingTree): v is Setting => v.schema instanceof z.ZodType;

function problemsOf(error: z.ZodError, prefix: string[] = []): string[] {
  return error.issues.map((i) => `${[...prefix, ...i.path.map(String)].join('.')}: ${i.message}`);
}

function readTree(tree: SettingTree, env: Record<string, string | undefined>, problems: string[]) {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(tree)) {
    if (!isSetting(node)) {
      out[key] = readTree(node, env, problems);
      continue;
    }
    const r = node.schema.safeParse(env[node.env]);
    if (r.success) out[key] = r.data;
    else problems.push(...problemsOf(r.error, [node.env]));
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Every variable the service reads, with its description: the service's own settings, then each module's. */
export function describeSettings(): { env: string; description: string | undefined }[] {
  const out: { env: string; description: string | undefined }[] = [];
  const walk = (tree: SettingTree): void => {
    for (const node of Object.values(tree)) {
      if (isSetting(node)) out.push({ env: node.env, description: node.schema.description });
      else walk(node);
    }
  };
  walk(SETTINGS);
  for (const m of kmsModules.modules()) {
    const shape =
      m.configSchema instanceof z.ZodObject ? (m.configSchema.shape as Record<string, z.ZodType>) : {};
    for (const [env, schema] of Object.entries(shape)) out.push({ env, description: schema.description });
  }
  return out;
}

/** Parses the environment once; throws {@link ConfigError} listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const values = readTree(SETTINGS, env, problems) as Parsed<typeof SETTINGS>;
  const modules: Record<string, unknown> = {};
  for (const m of kmsModules.modules()) {
    const r = m.configSchema.safeParse(env);
    if (r.success) modules[m.name] = r.data;
    else problems.push(...problemsOf(r.error));
  }
  // No early return on a malformed value: the checks below still run, so one refusal lists all.

  const production = values.mode === 'production';
  const missing = (name: string) =>
    name in modules ? (kmsModules.module(name)?.missingSettings?.(modules[name]) ?? []) : [];
  // Production never enables a development-only module by default; naming one is refused below.
  const enabled =
    values.kms.providers ??
    kmsModules
      .names()
      .filter(
        (name) => missing(name).length === 0 && !(production && kmsModules.module(name)?.developmentOnly),
      );
  const unknown = enabled.filter((p) => !kmsModules.has(p));
  if (unknown.length) problems.push(`KMS_PROVIDERS: unknown provider(s) ${unknown.join(', ')}`);
  for (const name of enabled) {
    const m = kmsModules.module(name);
    if (production && m?.developmentOnly)
      problems.push(`KMS_PROVIDERS: the ${m.title} (${name}) cannot be enabled in production`);
    if (missing(name).length) problems.push(`KMS_PROVIDERS: ${name} needs ${missing(name).join(', ')}`);
  }
  problems.push(...tlsProblems(values.tls));
  if (production) problems.push(...productionProblems(values, modules));
  if (
    problems.length &&
    production &&
    env.BYOK_MODE === undefined &&
    /^(development|test)$/.test(values.nodeEnv ?? '')
  )
    problems.push(
      `BYOK_MODE: not set, so this start is production; NODE_ENV=${values.nodeEnv} no longer selects development (set BYOK_MODE=development)`,
    );
  if (problems.length) throw new ConfigError(problems);
  return deepFreeze({ ...values, production, kms: { ...values.kms, providers: enabled, modules } });
}
