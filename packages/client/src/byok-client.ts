import { apiContract as api, MAX_BATCH_ITEMS } from '@byok/contract';
import { chunkItems, contextSize, DEFAULT_MAX_BATCH_BYTES } from './batch-chunks.js';
import { ByokApiError } from './client-errors.js';
import type {
  AuditEvent,
  AuditKeyring,
  AuditPage,
  AuditPublicKey,
  AuditQueryInput,
  AuditSinkInfo,
  AuditVerification,
  Checkpoint,
  CheckpointResult,
  Cmk,
  CmkPolicyGuide,
  CmkPolicyQueryInput,
  CreateAuditSinkInput,
  CreatedAuditSink,
  CreatedToken,
  CreateTenantInput,
  CreateTokenInput,
  DecryptItem,
  DecryptItemResult,
  DecryptOptions,
  DeletedTenant,
  EncryptionContext,
  EncryptItem,
  EncryptItemResult,
  EncryptResult,
  HealthStatus,
  Job,
  KmsCallsPage,
  KmsCallsQueryInput,
  ListSecretsOptions,
  Policy,
  PutCmkInput,
  PutPolicyInput,
  PutSecretInput,
  Retirement,
  RevealedSecret,
  RevealOptions,
  Rotation,
  SecretMetadata,
  SecretPage,
  Tenant,
  TenantState,
  TokenInfo,
  RestorePending,
  RotateTokenInput,
  RotatedToken,
  ServiceSuspension,
  TenantRateLimit,
} from './client-types.js';
import { HttpTransport, type TransportOptions } from './http-transport.js';
import { bytes } from './request-validation.js';
import type {
  AiBudget,
  AiBudgetInput,
  AiBudgetPeriod,
  AiUsageQueryInput,
  AiUsageReport,
} from './usage-types.js';

/** Options of {@link createClient}. */
export interface ClientOptions extends TransportOptions {
  /** Items per batch request, 1-1000 (MAX_BATCH_ITEMS). Default 1000. */
  batchSize?: number;
  /** Estimated JSON bytes per batch request, kept under the service body limit. Default 3 MiB. */
  maxBatchBytes?: number;
}

/**
 * The typed client platform services use to reach the key service. Every request is checked
 * against the contract before it is sent and every response after it arrives (response schemas
 * are allow-lists). Failures throw {@link ByokApiError}. Nothing is ever logged.
 *
 * Retried on 429/503 and connection failures: GET, PUT, DELETE, encrypt, decrypt (single and
 * batch) and reveal, because repeating them changes no state beyond an extra audit event (a
 * repeated putSecret may add a version holding the same value; a repeated delete may answer
 * NOT_FOUND). Never retried: createTenant and createToken, whose repetition would create twice.
 */
export class ByokClient {
  private readonly http: HttpTransport;
  private readonly batchSize: number;
  private readonly maxBatchBytes: number;

  constructor(opts: ClientOptions) {
    this.http = new HttpTransport(opts);
    this.batchSize = opts.batchSize ?? MAX_BATCH_ITEMS;
    this.maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > MAX_BATCH_ITEMS)
      throw new ByokApiError({ code: 'CONFIG_INVALID', detail: `batchSize must be 1-${MAX_BATCH_ITEMS}` });
    if (!Number.isInteger(this.maxBatchBytes) || this.maxBatchBytes < 1024)
      throw new ByokApiError({ code: 'CONFIG_INVALID', detail: 'maxBatchBytes must be an integer >= 1024' });
  }

  /** `healthz`: the process is up (no authentication). */
  async health(): Promise<HealthStatus> {
    return this.http.call({ op: api.healthz, idempotent: true });
  }

  /** `readyz`: the process can reach its database; STORE_UNAVAILABLE otherwise. */
  async ready(): Promise<HealthStatus> {
    return this.http.call({ op: api.readyz, idempotent: true });
  }

  /** Creates a tenant (platform admin). Not retried. */
  async createTenant(input: CreateTenantInput): Promise<Tenant> {
    return this.http.call({ op: api.createTenant, body: input, idempotent: false });
  }

  /** Reads a tenant. */
  async getTenant(tenantId: string): Promise<Tenant> {
    return this.http.call({ op: api.getTenant, params: { tenantId }, idempotent: true });
  }

  /** Kill switch: locks the tenant on every instance. */
  async lockTenant(tenantId: string): Promise<TenantState> {
    return this.http.call({ op: api.lockTenant, params: { tenantId }, idempotent: true });
  }

  /** Lifts the kill switch. */
  async restoreTenant(tenantId: string): Promise<TenantState | RestorePending> {
    return this.http.call({ op: api.restoreTenant, params: { tenantId }, idempotent: true });
  }

  /** Offboards the tenant by crypto-shredding its keys (platform admin). */
  async deleteTenant(tenantId: string): Promise<DeletedTenant> {
    return this.http.call({ op: api.deleteTenant, params: { tenantId }, idempotent: true });
  }

  /** Registers (or replaces) the tenant's customer key; the service proves wrap + unwrap first. */
  async putCmk(tenantId: string, input: PutCmkInput): Promise<Cmk> {
    return this.http.call({ op: api.putCmk, params: { tenantId }, body: input, idempotent: true });
  }

  /** Reads the tenant's customer key registration and health. */
  async getCmk(tenantId: string): Promise<Cmk> {
    return this.http.call({ op: api.getCmk, params: { tenantId }, idempotent: true });
  }

  /** The grant the customer applies in its cloud so the service may use its key. */
  async getCmkPolicy(tenantId: string, query: CmkPolicyQueryInput): Promise<CmkPolicyGuide> {
    return this.http.call({ op: api.getCmkPolicy, params: { tenantId }, query, idempotent: true });
  }

  /** Reads the tenant's policy. */
  async getPolicy(tenantId: string): Promise<Policy> {
    return this.http.call({ op: api.getPolicy, params: { tenantId }, idempotent: true });
  }

  /** Updates the tenant's policy (absent fields keep their value). */
  async putPolicy(tenantId: string, input: PutPolicyInput): Promise<Policy> {
    return this.http.call({ op: api.putPolicy, params: { tenantId }, body: input, idempotent: true });
  }

  /** Makes a new tenant-key version and starts re-encrypting under it. Not retried. */
  async rotateTenantKey(tenantId: string): Promise<Rotation> {
    return this.http.call({ op: api.rotateTenantKey, params: { tenantId }, idempotent: false });
  }

  /** Destroys tenant-key versions below `minVersion`. */
  async retireTenantKeys(tenantId: string, minVersion: number): Promise<Retirement> {
    const body = { minVersion };
    return this.http.call({ op: api.retireTenantKeys, params: { tenantId }, body, idempotent: true });
  }

  /** Progress of a re-encryption job. */
  async getJob(tenantId: string, jobId: string): Promise<Job> {
    return this.http.call({ op: api.getJob, params: { tenantId, jobId }, idempotent: true });
  }

  /** Issues a token; the response is the only place its value appears. Not retried. */
  async createToken(input: CreateTokenInput): Promise<CreatedToken> {
    return this.http.call({ op: api.createToken, body: input, idempotent: false });
  }

  /** The tenant's tokens (metadata, never values). */
  async listTokens(tenantId: string): Promise<TokenInfo[]> {
    return (await this.http.call({ op: api.listTokens, params: { tenantId }, idempotent: true })).tokens;
  }

  /** Revokes a token of the tenant on every instance. */
  async revokeToken(tenantId: string, tokenId: string): Promise<void> {
    await this.http.call({ op: api.revokeToken, params: { tenantId, tokenId }, idempotent: true });
  }

  /** Rotates a token: a new one now, the old one working for `overlapSeconds` more. Never retried. */
  async rotateToken(tokenId: string, input: RotateTokenInput): Promise<RotatedToken> {
    return this.http.call({ op: api.rotateToken, params: { tokenId }, body: input, idempotent: false });
  }

  /** Platform-level tokens: platform admins and global auditors (platform admin). */
  async listPlatformTokens(): Promise<TokenInfo[]> {
    return (await this.http.call({ op: api.listPlatformTokens, idempotent: true })).tokens;
  }

  /** Revokes a platform-level token on every instance (platform admin). */
  async revokePlatformToken(tokenId: string): Promise<void> {
    await this.http.call({ op: api.revokePlatformToken, params: { tokenId }, idempotent: true });
  }

  /** Suspends a named service's access to the tenant on every instance (tenant admin). */
  async suspendService(tenantId: string, service: string): Promise<ServiceSuspension> {
    return this.http.call({ op: api.suspendService, params: { tenantId, service }, idempotent: true });
  }

  /** Lifts a service's suspension from the tenant (tenant admin). */
  async resumeService(tenantId: string, service: string): Promise<ServiceSuspension> {
    return this.http.call({ op: api.resumeService, params: { tenantId, service }, idempotent: true });
  }

  /** The tenant's effective rate limit (platform admin, tenant admin). */
  async getTenantRateLimit(tenantId: string): Promise<TenantRateLimit> {
    return this.http.call({ op: api.getTenantRateLimit, params: { tenantId }, idempotent: true });
  }

  /** Overrides the tenant's rate limit on every instance (platform admin). */
  async setTenantRateLimit(
    tenantId: string,
    limit: { rps: number; burst: number },
  ): Promise<TenantRateLimit> {
    return this.http.call({
      op: api.putTenantRateLimit,
      params: { tenantId },
      body: limit,
      idempotent: true,
    });
  }

  /** Clears the tenant's override: the service default applies again (platform admin). */
  async clearTenantRateLimit(tenantId: string): Promise<TenantRateLimit> {
    return this.http.call({ op: api.clearTenantRateLimit, params: { tenantId }, idempotent: true });
  }

  /** Encrypts `plaintext` (at most 1 MiB) under the tenant's key, bound to `context`. */
  async encrypt(
    tenantId: string,
    plaintext: Uint8Array,
    context?: EncryptionContext,
  ): Promise<EncryptResult> {
    const body = {
      plaintext: bytes(plaintext, 'plaintext').toString('base64'),
      ...(context ? { context } : {}),
    };
    return this.http.call({ op: api.encrypt, params: { tenantId }, body, idempotent: true });
  }

  /** Decrypts a ciphertext made by {@link encrypt}; the same `context` must be given. */
  async decrypt(tenantId: string, ciphertext: string, opts: DecryptOptions = {}): Promise<Buffer> {
    const body = {
      ciphertext,
      ...(opts.context ? { context: opts.context } : {}),
      ...(opts.purpose !== undefined ? { purpose: opts.purpose } : {}),
    };
    const r = await this.http.call({ op: api.decrypt, params: { tenantId }, body, idempotent: true });
    return Buffer.from(r.plaintext, 'base64');
  }

  /**
   * Encrypts many plaintexts; any number of items, sent in chunks of at most `batchSize` items
   * and `maxBatchBytes`. Results are per item, in input order. A failure of a whole chunk (e.g.
   * FORBIDDEN) throws.
   */
  async encryptBatch(tenantId: string, items: readonly EncryptItem[]): Promise<EncryptItemResult[]> {
    const wire = this.arrayOf(items).map((it, i) => ({
      plaintext: bytes(it?.plaintext, `items[${i}].plaintext`).toString('base64'),
      ...(it.context ? { context: it.context } : {}),
    }));
    const out: EncryptItemResult[] = [];
    for (const chunk of this.chunks(wire, (w) => w.plaintext.length + contextSize(w.context))) {
      const r = await this.http.call({
        op: api.encryptBatch,
        params: { tenantId },
        body: { items: chunk },
        idempotent: true,
      });
      out.push(...this.checkCount(r.results, chunk.length, api.encryptBatch.id));
    }
    return out;
  }

  /** Decrypts many ciphertexts (one purpose for all); chunked like {@link encryptBatch}. */
  async decryptBatch(
    tenantId: string,
    items: readonly DecryptItem[],
    opts: { purpose?: string } = {},
  ): Promise<DecryptItemResult[]> {
    const out: DecryptItemResult[] = [];
    for (const chunk of this.chunks(
      items,
      (it) => (it?.ciphertext?.length ?? 0) + contextSize(it?.context),
    )) {
      const body = { items: chunk, ...(opts.purpose !== undefined ? { purpose: opts.purpose } : {}) };
      const r = await this.http.call({ op: api.decryptBatch, params: { tenantId }, body, idempotent: true });
      for (const x of this.checkCount(r.results, chunk.length, api.decryptBatch.id))
        out.push(x.ok ? { ok: true, plaintext: Buffer.from(x.plaintext, 'base64') } : x);
    }
    return out;
  }

  /** Stores a new version of secret `name` (the value is format-checked per kind first). */
  async putSecret(tenantId: string, name: string, input: PutSecretInput): Promise<SecretMetadata> {
    return this.http.call({ op: api.putSecret, params: { tenantId, name }, body: input, idempotent: true });
  }

  /** One page of secret metadata (never values), by name. */
  async listSecrets(tenantId: string, opts: ListSecretsOptions = {}): Promise<SecretPage> {
    return this.http.call({ op: api.listSecrets, params: { tenantId }, query: opts, idempotent: true });
  }

  /** Every secret's metadata, following `nextCursor` across pages. */
  async *iterateSecrets(tenantId: string, opts: { limit?: number } = {}): AsyncGenerator<SecretMetadata> {
    let cursor: string | undefined;
    do {
      const page: SecretPage = await this.listSecrets(tenantId, { ...opts, ...(cursor ? { cursor } : {}) });
      yield* page.secrets;
      cursor = this.nextCursor(cursor, page.nextCursor, 'listSecrets');
    } while (cursor);
  }

  /** Metadata of one secret. */
  async getSecret(tenantId: string, name: string): Promise<SecretMetadata> {
    return this.http.call({ op: api.getSecret, params: { tenantId, name }, idempotent: true });
  }

  /** The secret's value (audited, with the declared purpose); `version` reads an older one. Keep it out of logs. */
  async revealSecret(tenantId: string, name: string, opts: RevealOptions = {}): Promise<RevealedSecret> {
    return this.http.call({ op: api.revealSecret, params: { tenantId, name }, body: opts, idempotent: true });
  }

  /** Deletes the secret and all its versions. */
  async deleteSecret(tenantId: string, name: string): Promise<void> {
    await this.http.call({ op: api.deleteSecret, params: { tenantId, name }, idempotent: true });
  }

  /** One page of audit events matching `query` (oldest first). */
  async queryAudit(query: AuditQueryInput = {}): Promise<AuditPage> {
    return this.http.call({ op: api.queryAudit, query, idempotent: true });
  }

  /** Every audit event matching `query`, following `nextCursor` across pages. */
  async *iterateAudit(query: Omit<AuditQueryInput, 'cursor'> = {}): AsyncGenerator<AuditEvent> {
    let cursor: string | undefined;
    do {
      const page: AuditPage = await this.queryAudit({ ...query, ...(cursor ? { cursor } : {}) });
      yield* page.events;
      cursor = this.nextCursor(cursor, page.nextCursor, 'queryAudit');
    } while (cursor);
  }

  /** Verifies the tenant's audit hash chain on the service. */
  async verifyAudit(tenantId: string): Promise<AuditVerification> {
    return this.http.call({ op: api.verifyAudit, query: { tenantId }, idempotent: true });
  }

  /** The tenant's audit chain as NDJSON (default) or CSV text, with the latest signed checkpoint. */
  async exportAudit(tenantId: string, format: 'ndjson' | 'csv' = 'ndjson'): Promise<string> {
    return this.http.call({ op: api.exportAudit, query: { tenantId, format }, idempotent: true });
  }

  /** The Ed25519 key audit checkpoints are signed with. */
  async getAuditPublicKey(): Promise<AuditPublicKey> {
    return this.http.call({ op: api.getAuditPublicKey, idempotent: true });
  }

  /** Every trusted checkpoint key with its validity period (the service's keyring; public keys only). */
  async listAuditPublicKeys(): Promise<AuditKeyring> {
    return this.http.call({ op: api.listAuditPublicKeys, idempotent: true });
  }

  /** Signs the head of the tenant's chain (idempotent: an already signed head is returned). */
  async createCheckpoint(tenantId: string): Promise<CheckpointResult> {
    return this.http.call({ op: api.createCheckpoint, body: { tenantId }, idempotent: true });
  }

  /** The tenant's signed checkpoints after `afterSeq`. */
  async listCheckpoints(tenantId: string, afterSeq?: number): Promise<Checkpoint[]> {
    const query = { tenantId, ...(afterSeq !== undefined ? { afterSeq } : {}) };
    return (await this.http.call({ op: api.listCheckpoints, query, idempotent: true })).checkpoints;
  }

  /** One page of the tenant's KMS calls, to reconcile with the cloud's own log. */
  async listKmsCalls(query: KmsCallsQueryInput): Promise<KmsCallsPage> {
    return this.http.call({ op: api.listKmsCalls, query, idempotent: true });
  }

  /** Registers a SIEM webhook; the response is the only place its HMAC secret appears. Not retried. */
  async createAuditSink(tenantId: string, input: CreateAuditSinkInput): Promise<CreatedAuditSink> {
    return this.http.call({ op: api.createAuditSink, params: { tenantId }, body: input, idempotent: false });
  }

  /** The tenant's SIEM sinks and their delivery state. */
  async listAuditSinks(tenantId: string): Promise<AuditSinkInfo[]> {
    return (await this.http.call({ op: api.listAuditSinks, params: { tenantId }, idempotent: true })).sinks;
  }

  /** One SIEM sink and its delivery state. */
  async getAuditSink(tenantId: string, sinkId: string): Promise<AuditSinkInfo> {
    return this.http.call({ op: api.getAuditSink, params: { tenantId, sinkId }, idempotent: true });
  }

  /** Stops delivering to a SIEM sink. */
  async disableAuditSink(tenantId: string, sinkId: string): Promise<void> {
    await this.http.call({ op: api.disableAuditSink, params: { tenantId, sinkId }, idempotent: true });
  }

  /** AI calls, tokens and cost between two UTC days, grouped by day, model or secret. */
  async getAiUsage(tenantId: string, query: AiUsageQueryInput = {}): Promise<AiUsageReport> {
    return this.http.call({ op: api.getAiUsage, params: { tenantId }, query, idempotent: true });
  }

  /** The tenant's AI spend caps with the current window's spend. */
  async listAiBudgets(tenantId: string): Promise<AiBudget[]> {
    return (await this.http.call({ op: api.listAiBudgets, params: { tenantId }, idempotent: true })).budgets;
  }

  /** Sets the tenant-wide AI spend cap of a period. */
  async putTenantAiBudget(tenantId: string, input: AiBudgetInput): Promise<AiBudget> {
    return this.http.call({ op: api.putTenantAiBudget, params: { tenantId }, body: input, idempotent: true });
  }

  /** Removes the tenant-wide AI spend cap of a period. */
  async deleteTenantAiBudget(tenantId: string, period: AiBudgetPeriod): Promise<void> {
    await this.http.call({
      op: api.deleteTenantAiBudget,
      params: { tenantId },
      query: { period },
      idempotent: true,
    });
  }

  /** Sets one secret's AI spend cap of a period. */
  async putSecretAiBudget(tenantId: string, name: string, input: AiBudgetInput): Promise<AiBudget> {
    return this.http.call({
      op: api.putSecretAiBudget,
      params: { tenantId, name },
      body: input,
      idempotent: true,
    });
  }

  /** Removes one secret's AI spend cap of a period. */
  async deleteSecretAiBudget(tenantId: string, name: string, period: AiBudgetPeriod): Promise<void> {
    await this.http.call({
      op: api.deleteSecretAiBudget,
      params: { tenantId, name },
      query: { period },
      idempotent: true,
    });
  }

  private arrayOf<T>(items: readonly T[]): readonly T[] {
    if (!Array.isArray(items))
      throw new ByokApiError({ code: 'REQUEST_INVALID', detail: 'items must be an array' });
    return items;
  }

  private chunks<T>(items: readonly T[], sizeOf: (item: T) => number): T[][] {
    return chunkItems(this.arrayOf(items), sizeOf, this.batchSize, this.maxBatchBytes);
  }

  /** A batch answer with a different item count cannot be matched to its inputs: refuse it. */
  private checkCount<T>(results: T[], expected: number, opId: string): T[] {
    if (results.length !== expected)
      throw new ByokApiError({
        code: 'RESPONSE_INVALID',
        detail: `${opId}: ${results.length} results for ${expected} items`,
      });
    return results;
  }

  /** A server repeating a cursor would make the iterator loop forever: refuse it. */
  private nextCursor(prev: string | undefined, next: string | null, what: string): string | undefined {
    if (next !== null && next === prev)
      throw new ByokApiError({ code: 'RESPONSE_INVALID', detail: `${what}: the service repeated a cursor` });
    return next ?? undefined;
  }
}

/** Builds a {@link ByokClient}; throws CONFIG_INVALID for an unusable URL, token or setting. */
export function createClient(opts: ClientOptions): ByokClient {
  return new ByokClient(opts);
}
