import { z } from 'zod';
import { identityProblem, type ServiceIdentity } from './domain/keys/cmk-policy.js';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .optional();

/**
 * Every setting the service reads from its environment. This module is the only reader of
 * `process.env`; everything else takes typed options. No secret has a default.
 */
const EnvSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'])
    .default('development')
    .describe('production refuses local: keys and dev routes'),
  HOST: z.string().min(1).default('127.0.0.1').describe('address to listen on'),
  PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8080)
    .describe('port to listen on (0 = any free port)'),
  DATA_DIR: z
    .string()
    .min(1)
    .default('.data')
    .describe('where the embedded database and the local dev KMS keep their files'),
  DATABASE_URL: z
    .string()
    .url()
    .optional()
    .describe('PostgreSQL URL; without it the embedded PGlite default runs under DATA_DIR'),
  DATABASE_POOL_MAX: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(20)
    .describe('connections in the PostgreSQL pool'),
  BOOTSTRAP_ADMIN_TOKEN: z
    .string()
    .min(32, 'BOOTSTRAP_ADMIN_TOKEN must be at least 32 characters')
    .optional()
    .describe('registered as platform-admin on start if no admin exists'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level'),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(4 * 1024 * 1024)
    .describe('largest JSON body accepted'),
  GLIBC_TUNABLES: z
    .string()
    .optional()
    .describe(
      'read by glibc at process start; the service only reports whether its malloc settings are in it',
    ),
  TOKEN_CACHE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(300)
    .default(5)
    .describe(
      'how long a verified token is remembered; revocations are broadcast, so this bounds them only if a notification is lost',
    ),
  TENANT_CACHE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(10000)
    .default(1000)
    .describe('how long tenant state (lock, policy) is remembered between reads'),
  KMS_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(50)
    .max(60000)
    .default(5000)
    .describe('deadline of one KMS call'),
  KMS_MAX_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(10)
    .default(4)
    .describe('attempts for a throttled KMS call'),
  KMS_PROVIDERS: z
    .string()
    .default('local,aws-kms,azure-kv,gcp-kms')
    .describe('comma-separated providers to enable'),
  AUDIT_MAX_BATCH: z.coerce
    .number()
    .int()
    .min(1)
    .max(5000)
    .default(256)
    .describe('most audit events grouped into one commit'),
  AUDIT_SIGNING_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Ed25519 private key (PKCS#8 PEM) signing audit checkpoints; default: generated under DATA_DIR',
    ),
  AUDIT_CHECKPOINT_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86400)
    .default(300)
    .describe('how often moved audit chains get a signed checkpoint (0 = off; on demand still works)'),
  AUDIT_SINK_POLL_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(600000)
    .default(1000)
    .describe('how often the SIEM dispatcher looks for undelivered audit events (sinks)'),
  AUDIT_SINK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(120000)
    .default(10000)
    .describe('deadline of one SIEM webhook POST'),
  AUDIT_SINK_BACKOFF_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(600000)
    .default(1000)
    .describe('first retry delay after a failed SIEM delivery (doubles per attempt)'),
  AUDIT_SINK_MAX_BACKOFF_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(3600000)
    .default(300000)
    .describe('longest retry delay of a failing SIEM sink'),
  HEALTH_PROBE_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3600)
    .default(30)
    .describe('key-health probe interval per cached tenant (0 = off)'),
  BREAKER_FAILURE_THRESHOLD: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(3)
    .describe('consecutive KMS outage errors that open a tenant circuit'),
  BREAKER_OPEN_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(600000)
    .default(5000)
    .describe('how long an open circuit fails fast before a half-open trial'),
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .optional()
    .describe('name of this instance in logs and notifications (default: random)'),
  FAILPOINTS: z
    .string()
    .optional()
    .describe('TEST ONLY: comma-separated crash points; refused in production'),
  ROTATION_BATCH_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(10000)
    .default(500)
    .describe('secret versions re-encrypted per batch (one transaction, one audit event) by a rotation job'),
  JOB_POLL_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(600000)
    .default(1000)
    .describe('how often an idle instance looks for background jobs'),
  JOB_LEASE_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(600000)
    .default(30000)
    .describe("lease of a running job; a crashed holder's job is taken over after this long"),
  JOB_RETRY_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(600000)
    .default(1000)
    .describe('first backoff of a job paused by a KMS failure; doubles up to 60 s'),
  SHUTDOWN_GRACE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(120000)
    .default(10000)
    .describe('how long in-flight requests may finish on SIGTERM'),
  // AWS: the SDK's own standard settings.
  AWS_REGION: z.string().optional().describe('default AWS region (a key ARN names its own region)'),
  AWS_ENDPOINT_URL_KMS: z.string().url().optional().describe('AWS KMS endpoint override (emulators)'),
  // Azure Key Vault.
  AZURE_TENANT_ID: z.string().optional().describe('Entra tenant of the service principal'),
  AZURE_CLIENT_ID: z.string().optional().describe('service principal client id'),
  AZURE_CLIENT_SECRET: z
    .string()
    .optional()
    .describe('service principal secret (else DefaultAzureCredential)'),
  AZURE_AUTHORITY_HOST: z.string().url().optional().describe('Entra authority override (emulators)'),
  AZURE_KEYVAULT_CA_FILE: z
    .string()
    .optional()
    .describe('extra CA certificate (PEM) trusted for Key Vault (emulators)'),
  AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: bool.describe(
    'accept a challenge resource that does not match the vault host (emulators)',
  ),
  // Google Cloud KMS.
  GCP_KMS_ENDPOINT: z
    .string()
    .optional()
    .describe('host[:port] override of cloudkms.googleapis.com (emulators)'),
  GCP_KMS_PROTOCOL: z.enum(['http', 'https']).optional().describe('protocol for GCP_KMS_ENDPOINT'),
  GCP_ACCESS_TOKEN: z
    .string()
    .optional()
    .describe('static OAuth access token (emulators); else Application Default Credentials'),
  // Who this service is in each cloud: named in the onboarding grant (GET /v1/tenants/{t}/cmk/policy).
  SERVICE_AWS_ROLE_ARN: z
    .string()
    .refine((v) => !identityProblem('aws-kms', v), 'expected an IAM role ARN: arn:aws:iam::ACCOUNT:role/NAME')
    .optional()
    .describe('IAM role the service runs as; customers grant it use of their AWS KMS key'),
  SERVICE_AZURE_PRINCIPAL_ID: z
    .string()
    .refine(
      (v) => !identityProblem('azure-kv', v),
      'expected the object id (a GUID) of the service principal',
    )
    .optional()
    .describe('object id of the service principal; customers assign it a crypto role on their key'),
  SERVICE_GCP_SERVICE_ACCOUNT: z
    .string()
    .refine((v) => !identityProblem('gcp-kms', v), 'expected a service account email')
    .optional()
    .describe('service account the service runs as; customers bind it on their CryptoKey'),
});

/** The parsed, frozen configuration. */
export interface Config {
  env: 'development' | 'production' | 'test';
  production: boolean;
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  bootstrapAdminToken: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimitBytes: number;
  /** `GLIBC_TUNABLES` as the process started with it (see malloc.ts). */
  glibcTunables: string | undefined;
  tokenCacheSeconds: number;
  tenantCacheMs: number;
  kms: {
    timeoutMs: number;
    maxAttempts: number;
    providers: string[];
    aws: { region: string | undefined; endpoint: string | undefined };
    azure: {
      tenantId: string | undefined;
      clientId: string | undefined;
      clientSecret: string | undefined;
      authorityHost: string | undefined;
      caFile: string | undefined;
      disableChallengeResourceVerification: boolean;
    };
    gcp: {
      endpoint: string | undefined;
      protocol: 'http' | 'https' | undefined;
      accessToken: string | undefined;
    };
  };
  /** The service's own identities, for onboarding grants. */
  serviceIdentity: ServiceIdentity;
  auditMaxBatch: number;
  audit: {
    signingKeyFile: string | undefined;
    checkpointIntervalSeconds: number;
    sinkPollMs: number;
    sinkTimeoutMs: number;
    sinkBackoffMs: number;
    sinkMaxBackoffMs: number;
  };
  shutdownGraceMs: number;
  healthProbeIntervalSeconds: number;
  breaker: { failureThreshold: number; openMs: number };
  instanceId: string | undefined;
  failpoints: string[];
  jobs: { batchSize: number; pollMs: number; leaseMs: number; retryMs: number };
}

/** A configuration that failed validation; `problems` lists each bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Parses the environment once; throws {@link ConfigError} listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const providers = e.KMS_PROVIDERS.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = providers.filter((p) => !['local', 'aws-kms', 'azure-kv', 'gcp-kms'].includes(p));
  const problems: string[] = [];
  if (unknown.length) problems.push(`KMS_PROVIDERS: unknown provider(s) ${unknown.join(', ')}`);
  const production = e.NODE_ENV === 'production';
  if (production && providers.includes('local'))
    problems.push('KMS_PROVIDERS: the local development KMS cannot be enabled in production');
  if (production && !e.DATABASE_URL)
    problems.push('DATABASE_URL: required in production (the embedded database is for development)');
  const failpoints = (e.FAILPOINTS ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  if (production && failpoints.length)
    problems.push('FAILPOINTS: crash points are a test-only setting and cannot be used in production');
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze({
    env: e.NODE_ENV,
    production,
    host: e.HOST,
    port: e.PORT,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    bootstrapAdminToken: e.BOOTSTRAP_ADMIN_TOKEN,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    glibcTunables: e.GLIBC_TUNABLES,
    tokenCacheSeconds: e.TOKEN_CACHE_SECONDS,
    tenantCacheMs: e.TENANT_CACHE_MS,
    kms: {
      timeoutMs: e.KMS_TIMEOUT_MS,
      maxAttempts: e.KMS_MAX_ATTEMPTS,
      providers,
      aws: { region: e.AWS_REGION, endpoint: e.AWS_ENDPOINT_URL_KMS },
      azure: {
        tenantId: e.AZURE_TENANT_ID,
        clientId: e.AZURE_CLIENT_ID,
        clientSecret: e.AZURE_CLIENT_SECRET,
        authorityHost: e.AZURE_AUTHORITY_HOST,
        caFile: e.AZURE_KEYVAULT_CA_FILE,
        disableChallengeResourceVerification: e.AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION ?? false,
      },
      gcp: { endpoint: e.GCP_KMS_ENDPOINT, protocol: e.GCP_KMS_PROTOCOL, accessToken: e.GCP_ACCESS_TOKEN },
    },
    serviceIdentity: Object.freeze({
      awsRoleArn: e.SERVICE_AWS_ROLE_ARN,
      azurePrincipalId: e.SERVICE_AZURE_PRINCIPAL_ID,
      gcpServiceAccount: e.SERVICE_GCP_SERVICE_ACCOUNT,
    }),
    auditMaxBatch: e.AUDIT_MAX_BATCH,
    audit: {
      signingKeyFile: e.AUDIT_SIGNING_KEY_FILE,
      checkpointIntervalSeconds: e.AUDIT_CHECKPOINT_INTERVAL_SECONDS,
      sinkPollMs: e.AUDIT_SINK_POLL_MS,
      sinkTimeoutMs: e.AUDIT_SINK_TIMEOUT_MS,
      sinkBackoffMs: e.AUDIT_SINK_BACKOFF_MS,
      sinkMaxBackoffMs: e.AUDIT_SINK_MAX_BACKOFF_MS,
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    healthProbeIntervalSeconds: e.HEALTH_PROBE_INTERVAL_SECONDS,
    breaker: { failureThreshold: e.BREAKER_FAILURE_THRESHOLD, openMs: e.BREAKER_OPEN_MS },
    instanceId: e.INSTANCE_ID,
    failpoints,
    jobs: {
      batchSize: e.ROTATION_BATCH_SIZE,
      pollMs: e.JOB_POLL_MS,
      leaseMs: e.JOB_LEASE_MS,
      retryMs: e.JOB_RETRY_MS,
    },
  });
}
