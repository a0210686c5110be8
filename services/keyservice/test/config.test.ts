import { describe, expect, it } from '@jest/globals';
import { ConfigError, describeSettings, loadConfig } from '../src/config.js';
import { KMS_MODULES } from '../src/kms-modules.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      env: 'development',
      production: false,
      host: '127.0.0.1',
      port: 8080,
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
  });

  it('enables every registered provider module whose required settings are set by default', () => {
    const needsSettings = (env: Record<string, string>) =>
      KMS_MODULES.filter((m) => {
        const missing = 'missingSettings' in m ? m.missingSettings : undefined;
        return missing && missing(m.configSchema.parse(env) as never).length > 0;
      }).map((m) => m.name);
    expect(needsSettings({})).toEqual(['pkcs11']);
    expect(loadConfig({}).kms.providers).toEqual(
      KMS_MODULES.map((m) => m.name).filter((n) => !needsSettings({}).includes(n)),
    );
    const hsm = { PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so', PKCS11_PIN_FILE: '/run/pin' };
    expect(loadConfig(hsm).kms.providers).toEqual(KMS_MODULES.map((m) => m.name));
  });

  it('refuses a provider enabled by name without its required settings, naming them', () => {
    expect(problemsOf({ KMS_PROVIDERS: 'local,pkcs11', PKCS11_MODULE: '/usr/lib/x.so' })).toEqual([
      'KMS_PROVIDERS: pkcs11 needs PKCS11_PIN_FILE',
    ]);
  });

  it('reads each setting from its own variable, coerced and nested', () => {
    const c = loadConfig({
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
    expect(problemsOf({ KMS_PROVIDERS: 'local,vault' })).toEqual([
      'KMS_PROVIDERS: unknown provider(s) vault',
    ]);
  });

  it('refuses development-only providers, the embedded database and crash points in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production', KMS_PROVIDERS: 'local,aws-kms', FAILPOINTS: 'x' });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^KMS_PROVIDERS: .*\(local\) cannot be enabled in production$/);
    expect(problems[1]).toMatch(/^DATABASE_URL: required in production/);
    expect(problems[2]).toMatch(/^FAILPOINTS: /);
    const ok = loadConfig({
      NODE_ENV: 'production',
      KMS_PROVIDERS: 'aws-kms',
      DATABASE_URL: 'postgres://db/x',
    });
    expect(ok.production).toBe(true);
  });

  it('answers a deeply frozen object', () => {
    const c = loadConfig({});
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
