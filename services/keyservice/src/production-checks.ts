import { kmsModules } from './kms-modules.js';

/** The parsed settings these checks read (a value that failed to parse is absent). */
export interface CheckedSettings {
  readonly databaseUrl?: string | undefined;
  readonly failpoints?: readonly string[] | undefined;
  readonly tls: {
    readonly certFile?: string | undefined;
    readonly keyFile?: string | undefined;
    readonly clientCaFile?: string | undefined;
    readonly terminatedByProxy?: boolean | undefined;
  };
  readonly audit: {
    readonly signingKeyFile?: string | undefined;
    readonly sinkSecretKeyFile?: string | undefined;
  };
}

/** Pairs of TLS settings that only make sense together (any mode). */
export function tlsProblems(tls: CheckedSettings['tls']): string[] {
  const out: string[] = [];
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile))
    out.push(
      `${tls.certFile ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'}: TLS_CERT_FILE and TLS_KEY_FILE go together`,
    );
  if (tls.clientCaFile && !tls.certFile)
    out.push(
      'TLS_CLIENT_CA_FILE: client certificates need the API to serve TLS (TLS_CERT_FILE, TLS_KEY_FILE)',
    );
  if (tls.certFile && tls.terminatedByProxy)
    out.push('TLS_TERMINATED_BY_PROXY: set either TLS files (the service terminates TLS) or this, not both');
  return out;
}

/**
 * What a production start must have and must not have, each a separate line so one refusal
 * lists everything an operator has to fix.
 */
export function productionProblems(values: CheckedSettings, modules: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (!values.databaseUrl)
    out.push('DATABASE_URL: required in production (the embedded database is for development)');
  if (!values.tls.certFile && !values.tls.terminatedByProxy)
    out.push(
      'TLS_CERT_FILE: required in production with TLS_KEY_FILE, unless TLS_TERMINATED_BY_PROXY=true (a proxy in front terminates TLS)',
    );
  if (!values.audit.signingKeyFile)
    out.push(
      'AUDIT_SIGNING_KEY_FILE: required in production (one checkpoint signing key shared by every instance)',
    );
  if (!values.audit.sinkSecretKeyFile)
    out.push('SINK_SECRET_KEY_FILE: required in production (the key sealing SIEM sink secrets)');
  if (values.failpoints?.length)
    out.push('FAILPOINTS: crash points are a test-only setting and cannot be used in production');
  for (const m of kmsModules.modules()) {
    if (!(m.name in modules)) continue;
    for (const s of m.developmentSettings?.(modules[m.name]) ?? [])
      out.push(`${s.variable}: ${s.why}; emulator-only, refused in production`);
  }
  return out;
}

/** The parsed settings {@link productionWarnings} reads. */
export interface WarnedSettings {
  readonly production: boolean;
  readonly egressAllowCidrs: readonly string[];
  readonly rateLimit: { readonly redisUrl?: string | undefined };
}

/**
 * Settings a production start accepts but an operator should know about, one line each (logged
 * at start, not refused): each is legitimate in some deployments and risky in others.
 */
export function productionWarnings(values: WarnedSettings): string[] {
  if (!values.production) return [];
  const out: string[] = [];
  if (values.egressAllowCidrs.length > 0)
    out.push(
      `EGRESS_ALLOW_CIDRS=${values.egressAllowCidrs.join(',')}: outbound calls for tenants (Key Vault hosts, SIEM sinks) may reach these private or loopback ranges; allow only what tenants must reach`,
    );
  if (!values.rateLimit.redisUrl)
    out.push(
      'RATE_LIMIT_REDIS_URL: unset, so rate limits and the KMS call budget are kept in memory per instance: N instances allow up to N times each limit (set it to share the buckets through Redis)',
    );
  return out;
}
