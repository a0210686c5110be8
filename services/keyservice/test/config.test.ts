import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, describeSettings, loadConfig } from '../src/config.js';
import { KMS_MODULES } from '../src/kms-modules.js';
import { productionWarnings } from '../src/production-checks.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

/** Development mode: what `pnpm start` sets; every other default is production. */
const DEV = { BYOK_MODE: 'development' };

/** A production environment with every required setting. */
const PROD = {
  DATABASE_URL: 'postgres://db/x',
  TLS_CERT_FILE: '/run/tls/cert.pem',
  TLS_KEY_FILE: '/run/tls/key.pem',
  AUDIT_SIGNING_KEY_FILE: '/run/keys/audit-signing.pem',
  SINK_SECRET_KEY_FILE: '/run/keys/sink-secret.key',
  KMS_PROVIDERS: 'aws-kms',
};

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(DEV);
    expect(c).toMatchObject({
      mode: 'development',
      production: false,
      host: '127.0.0.1',
      port: 8080,
      tls: { terminatedByProxy: false },
      metrics: { host: '127.0.0.1', port: 9464 },
      dataDir: '.data',
      databasePoolMax: 20,
      logLevel: 'info',
      bodyLimitBytes: 4 * 1024 * 1024,
      tokenCacheSeconds: 5,
      tenantCacheMs: 1000,
      kms: { timeoutMs: 5000, maxAttempts: 4 },
      auditMaxBatch: 256,
      audit: {
        checkpointIntervalSeconds: 300,
        sinkPollMs: 1000,
        sinkTimeoutMs: 10000,
        sinkBackoffMs: 1000,
        sinkMaxBackoffMs: 300000,
      },
      shutdownGraceMs: 10000,
      healthProbeIntervalSeconds: 30,
      breaker: { failureThreshold: 3, openMs: 5000 },
      failpoints: [],
      jobs: { batchSize: 500, pollMs: 1000, leaseMs: 30000, retryMs: 1000 },
    });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.bootstrapAdminToken).toBeUndefined();
    expect(c.instanceId).toBeUndefined();
    expect(c.tls.certFile).toBeUndefined();
  });

  it('enables every registered provider module whose required settings are set by default', () => {
    const needsSettings = (env: Record<string, string>) =>
      KMS_MODULES.filter((m) => {
        const missing = 'missingSettings' in m ? m.missingSettings : undefined;
        return missing && missing(m.configSchema.parse(env) as never).length > 0;
      }).map((m) => m.name);
    expect(needsSettings({})).toEqual(['pkcs11']);
    expect(loadConfig(DEV).kms.providers).toEqual(
      KMS_MODULES.map((m) => m.name).filter((n) => !needsSettings({}).includes(n)),
    );
    const hsm = { PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so', PKCS11_PIN_FILE: '/run/pin' };
    expect(loadConfig({ ...DEV, ...hsm }).kms.providers).toEqual(KMS_MODULES.map((m) => m.name));
  });

  it('refuses a provider enabled by name without its required settings, naming them', () => {
    expect(problemsOf({ ...DEV, KMS_PROVIDERS: 'local,pkcs11', PKCS11_MODULE: '/usr/lib/x.so' })).toEqual([
      'KMS_PROVIDERS: pkcs11 needs PKCS11_PIN_FILE',
    ]);
  });

  it('reads each setting from its own variable, coerced and nested', () => {
    const c = loadConfig({
      ...DEV,
      PORT: '0',
      KMS_TIMEOUT_MS: '750',
      KMS_PROVIDERS: ' local , gcp-kms ,',
      AUDIT_SINK_POLL_MS: '20',
      JOB_POLL_MS: '30',
      ROTATION_BATCH_SIZE: '7',
      BREAKER_OPEN_MS: '250',
      FAILPOINTS: 'a, b',
    });
    expect(c.port).toBe(0);
    expect(c.kms.timeoutMs).toBe(750);
    expect(c.kms.providers).toEqual(['local', 'gcp-kms']);
    expect(c.audit.sinkPollMs).toBe(20);
    expect(c.jobs).toMatchObject({ pollMs: 30, batchSize: 7 });
    expect(c.breaker.openMs).toBe(250);
    expect(c.failpoints).toEqual(['a', 'b']);
  });

  it("parses each provider module's settings with its own schema", () => {
    const c = loadConfig({
      ...DEV,
      AWS_REGION: 'eu-west-1',
      AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: '1',
      GCP_KMS_ENDPOINT: '127.0.0.1:9090',
      GCP_KMS_PROTOCOL: 'http',
    });
    expect(c.kms.modules['aws-kms']).toMatchObject({ AWS_REGION: 'eu-west-1' });
    expect(c.kms.modules['azure-kv']).toMatchObject({ AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: true });
    expect(c.kms.modules['gcp-kms']).toMatchObject({
      GCP_KMS_ENDPOINT: '127.0.0.1:9090',
      GCP_KMS_PROTOCOL: 'http',
    });
    expect(Object.keys(c.kms.modules).sort()).toEqual(KMS_MODULES.map((m) => m.name).sort());
  });

  it('lists every bad variable at once, service and provider settings alike', () => {
    const problems = problemsOf({
      ...DEV,
      PORT: '70000',
      LOG_LEVEL: 'loud',
      BOOTSTRAP_ADMIN_TOKEN: 'short',
      JOB_LEASE_MS: '5',
      GCP_KMS_PROTOCOL: 'ftp',
      AWS_ENDPOINT_URL_KMS: 'not a url',
    });
    const names = problems.map((p) => p.split(':')[0]);
    expect(names.sort()).toEqual(
      [
        'AWS_ENDPOINT_URL_KMS',
        'BOOTSTRAP_ADMIN_TOKEN',
        'GCP_KMS_PROTOCOL',
        'JOB_LEASE_MS',
        'LOG_LEVEL',
        'PORT',
      ].sort(),
    );
    expect(problems).toContain('BOOTSTRAP_ADMIN_TOKEN: BOOTSTRAP_ADMIN_TOKEN must be at least 32 characters');
  });

  it('refuses an unknown provider in KMS_PROVIDERS', () => {
    expect(problemsOf({ ...DEV, KMS_PROVIDERS: 'local,vault' })).toEqual([
      'KMS_PROVIDERS: unknown provider(s) vault',
    ]);
  });

  it('is production unless BYOK_MODE=development, and then refuses a start with nothing set, naming every missing setting', () => {
    const problems = problemsOf({});
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'DATABASE_URL',
      'TLS_CERT_FILE',
      'AUDIT_SIGNING_KEY_FILE',
      'SINK_SECRET_KEY_FILE',
    ]);
    expect(problems[1]).toContain('TLS_TERMINATED_BY_PROXY=true');
    const ok = loadConfig(PROD);
    expect(ok).toMatchObject({ mode: 'production', production: true });
    expect(loadConfig({ ...PROD, BYOK_MODE: 'production' }).production).toBe(true);
    expect(problemsOf({ BYOK_MODE: 'dev' })[0]).toMatch(/^BYOK_MODE: /);
  });

  it('does not take development mode from NODE_ENV, and says so when production is refused', () => {
    for (const NODE_ENV of ['development', 'test']) {
      const problems = problemsOf({ NODE_ENV });
      expect(problems.at(-1)).toBe(
        `BYOK_MODE: not set, so this start is production; NODE_ENV=${NODE_ENV} no longer selects development (set BYOK_MODE=development)`,
      );
      expect(loadConfig({ ...PROD, NODE_ENV }).production).toBe(true);
    }
    expect(problemsOf({ NODE_ENV: 'production' }).join('\n')).not.toContain('BYOK_MODE');
    expect(problemsOf({ NODE_ENV: 'test', BYOK_MODE: 'production' }).join('\n')).not.toContain('BYOK_MODE');
  });

  it('accepts a proxy that terminates TLS as the TLS decision in production', () => {
    const { TLS_CERT_FILE: _c, TLS_KEY_FILE: _k, ...noFiles } = PROD;
    expect(problemsOf(noFiles).map((p) => p.split(':')[0])).toEqual(['TLS_CERT_FILE']);
    expect(loadConfig({ ...noFiles, TLS_TERMINATED_BY_PROXY: 'true' }).tls.terminatedByProxy).toBe(true);
    expect(problemsOf({ ...noFiles, TLS_TERMINATED_BY_PROXY: 'false' })[0]).toMatch(/^TLS_CERT_FILE: /);
    expect(problemsOf({ ...noFiles, TLS_TERMINATED_BY_PROXY: 'yes' })[0]).toMatch(
      /^TLS_TERMINATED_BY_PROXY: /,
    );
  });

  it('refuses TLS settings that do not go together, in any mode', () => {
    expect(problemsOf({ ...DEV, TLS_CERT_FILE: '/c.pem' })).toEqual([
      'TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together',
    ]);
    expect(problemsOf({ ...DEV, TLS_CLIENT_CA_FILE: '/ca.pem' })[0]).toMatch(/^TLS_CLIENT_CA_FILE: /);
    expect(problemsOf({ ...PROD, TLS_TERMINATED_BY_PROXY: 'true' })[0]).toMatch(/^TLS_TERMINATED_BY_PROXY: /);
    expect(loadConfig({ ...PROD, TLS_CLIENT_CA_FILE: '/ca.pem' }).tls.clientCaFile).toBe('/ca.pem');
  });

  it('reads the metrics listener: a port, 0 for any free one, or off', () => {
    expect(loadConfig({ ...DEV, METRICS_PORT: '0', METRICS_HOST: '0.0.0.0' }).metrics).toEqual({
      host: '0.0.0.0',
      port: 0,
    });
    expect(loadConfig({ ...DEV, METRICS_PORT: 'off' }).metrics.port).toBe('off');
    expect(problemsOf({ ...DEV, METRICS_PORT: '70000' })[0]).toMatch(/^METRICS_PORT: /);
  });

  it('refuses the local KMS, crash points and emulator-only switches in production, all at once', () => {
    const problems = problemsOf({
      ...PROD,
      KMS_PROVIDERS: 'local,aws-kms',
      FAILPOINTS: 'x',
      AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
      AZURE_KEYVAULT_CA_FILE: '/ca.pem',
      AZURE_AUTHORITY_HOST: 'http://127.0.0.1:8443',
      AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:4566',
      GCP_KMS_PROTOCOL: 'http',
      GCP_ACCESS_TOKEN: 'static',
    });
    expect(problems[0]).toMatch(/^KMS_PROVIDERS: .*\(local\) cannot be enabled in production$/);
    expect(problems.slice(1).map((p) => p.split(':')[0])).toEqual([
      'FAILPOINTS',
      'AWS_ENDPOINT_URL_KMS',
      'AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION',
      'AZURE_KEYVAULT_CA_FILE',
      'AZURE_AUTHORITY_HOST',
      'GCP_KMS_PROTOCOL',
      'GCP_ACCESS_TOKEN',
    ]);
    for (const p of problems.slice(2)) expect(p).toMatch(/emulator-only, refused in production$/);
    // The same switches are fine in development, and their production forms in production.
    expect(() =>
      loadConfig({ ...DEV, AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true', GCP_KMS_PROTOCOL: 'http' }),
    ).not.toThrow();
    expect(
      loadConfig({
        ...PROD,
        AWS_ENDPOINT_URL_KMS: 'https://kms-fips.us-east-1.amazonaws.com',
        AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us',
        AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'false',
        GCP_KMS_PROTOCOL: 'https',
      }).production,
    ).toBe(true);
  });

  it('leaves development-only providers out of the default list in production', () => {
    const { KMS_PROVIDERS: _p, ...defaults } = PROD;
    expect(loadConfig(defaults).kms.providers).not.toContain('local');
    expect(loadConfig(DEV).kms.providers).toContain('local');
  });

  it('lists malformed values and production problems in one refusal', () => {
    const names = problemsOf({ PORT: 'x', DATABASE_URL: 'not a url' }).map((p) => p.split(':')[0]);
    expect(names).toEqual(
      expect.arrayContaining(['PORT', 'DATABASE_URL', 'TLS_CERT_FILE', 'AUDIT_SIGNING_KEY_FILE']),
    );
  });

  it("refuses the image's own environment until the operator adds a TLS decision and the keys", () => {
    const dockerfile = readFileSync(
      resolve(dirname(fileURLToPath(import.meta.url)), '../../../infra/Dockerfile'),
      'utf8',
    );
    // Build arguments at their defaults, as `docker build` without --build-arg gives them.
    const args = Object.fromEntries(
      [...dockerfile.matchAll(/^ARG ([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]),
    ) as Record<string, string>;
    const image = Object.fromEntries(
      [...dockerfile.matchAll(/^(?:ENV |\s+)([A-Z_]+)=(\S+?)(?: \\)?$/gm)].map((m) => [
        m[1],
        (m[2] as string).replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => args[name] ?? ''),
      ]),
    ) as Record<string, string>;
    expect(image).toMatchObject({ BYOK_MODE: 'production', HOST: '0.0.0.0' });
    expect(problemsOf(image).map((p) => p.split(':')[0])).toEqual([
      'DATABASE_URL',
      'TLS_CERT_FILE',
      'AUDIT_SIGNING_KEY_FILE',
      'SINK_SECRET_KEY_FILE',
    ]);
    expect(loadConfig({ ...image, ...PROD }).host).toBe('0.0.0.0');
  });

  it('answers a deeply frozen object', () => {
    const c = loadConfig(DEV);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.kms)).toBe(true);
    expect(Object.isFrozen(c.kms.modules['aws-kms'])).toBe(true);
    expect(Object.isFrozen(c.jobs)).toBe(true);
  });
});

describe('describeSettings', () => {
  const all = describeSettings();
  it('declares every variable once, with a description', () => {
    const names = all.map((s) => s.env);
    expect(new Set(names).size).toBe(names.length);
    expect(all.filter((s) => !s.description)).toEqual([]);
  });
  it("keeps every variable the service has read, the providers' included", () => {
    // The 46 names of the configuration before provider modules; a new module only adds to them.
    const before = [
      'NODE_ENV',
      'HOST',
      'PORT',
      'DATA_DIR',
      'DATABASE_URL',
      'DATABASE_POOL_MAX',
      'BOOTSTRAP_ADMIN_TOKEN',
      'LOG_LEVEL',
      'BODY_LIMIT_BYTES',
      'GLIBC_TUNABLES',
      'TOKEN_CACHE_SECONDS',
      'TENANT_CACHE_MS',
      'KMS_TIMEOUT_MS',
      'KMS_MAX_ATTEMPTS',
      'KMS_PROVIDERS',
      'AUDIT_MAX_BATCH',
      'AUDIT_SIGNING_KEY_FILE',
      'AUDIT_CHECKPOINT_INTERVAL_SECONDS',
      'AUDIT_SINK_POLL_MS',
      'AUDIT_SINK_TIMEOUT_MS',
      'AUDIT_SINK_BACKOFF_MS',
      'AUDIT_SINK_MAX_BACKOFF_MS',
      'HEALTH_PROBE_INTERVAL_SECONDS',
      'BREAKER_FAILURE_THRESHOLD',
      'BREAKER_OPEN_MS',
      'INSTANCE_ID',
      'FAILPOINTS',
      'ROTATION_BATCH_SIZE',
      'JOB_POLL_MS',
      'JOB_LEASE_MS',
      'JOB_RETRY_MS',
      'SHUTDOWN_GRACE_MS',
      'AWS_REGION',
      'AWS_ENDPOINT_URL_KMS',
      'AZURE_TENANT_ID',
      'AZURE_CLIENT_ID',
      'AZURE_CLIENT_SECRET',
      'AZURE_AUTHORITY_HOST',
      'AZURE_KEYVAULT_CA_FILE',
      'AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION',
      'GCP_KMS_ENDPOINT',
      'GCP_KMS_PROTOCOL',
      'GCP_ACCESS_TOKEN',
      'SERVICE_AWS_ROLE_ARN',
      'SERVICE_AZURE_PRINCIPAL_ID',
      'SERVICE_GCP_SERVICE_ACCOUNT',
    ];
    expect(before).toHaveLength(46);
    expect(all.map((s) => s.env)).toEqual(expect.arrayContaining(before));
  });
});

describe('production start-up warnings', () => {
  it('warns when EGRESS_ALLOW_CIDRS is set and when rate limits are per instance (in memory)', () => {
    const warnings = productionWarnings(loadConfig({ ...PROD, EGRESS_ALLOW_CIDRS: '10.20.0.0/16' }));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^EGRESS_ALLOW_CIDRS=10\.20\.0\.0\/16: /);
    expect(warnings[1]).toMatch(/^RATE_LIMIT_REDIS_URL: .*per instance/);
  });

  it('says nothing when limits are shared through Redis and no range is allowed, nor in development', () => {
    expect(productionWarnings(loadConfig({ ...PROD, RATE_LIMIT_REDIS_URL: 'redis://r:6379' }))).toEqual([]);
    expect(productionWarnings(loadConfig({ ...DEV, EGRESS_ALLOW_CIDRS: '127.0.0.0/8' }))).toEqual([]);
  });
});

describe('TRUST_PROXY', () => {
  it('is off by default, and takes a hop count or proxy addresses', () => {
    expect(loadConfig(DEV).trustProxy).toBe(false);
    expect(loadConfig({ ...DEV, TRUST_PROXY: 'off' }).trustProxy).toBe(false);
    expect(loadConfig({ ...DEV, TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ ...DEV, TRUST_PROXY: '10.0.0.0/8, loopback' }).trustProxy).toEqual([
      '10.0.0.0/8',
      'loopback',
    ]);
  });

  it('refuses a value express would read as "trust everyone" or cannot parse', () => {
    for (const v of ['true', 'yes', '10.0.0.0/99', 'proxy.example.com'])
      expect(problemsOf({ ...DEV, TRUST_PROXY: v }).join('\n')).toContain('TRUST_PROXY');
  });
});
