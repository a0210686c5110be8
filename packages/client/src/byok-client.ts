import {
  AuditPage as AuditPageSchema,
  CmkResponse,
  CreateTenantRequest,
  CreateTokenRequest,
  CreateTokenResponse,
  DecryptBatchRequest,
  DecryptBatchResponse,
  DecryptRequest,
  DecryptResponse,
  EncryptBatchRequest,
  EncryptBatchResponse,
  EncryptRequest,
  EncryptResponse,
  MAX_BATCH_ITEMS,
  PolicyResponse,
  PutCmkRequest,
  PutPolicyRequest,
  PutSecretRequest,
  RevealRequest,
  RevealResponse,
  SecretList,
  SecretMetadata as SecretMetadataSchema,
  SecretName,
  TenantId,
  TenantResponse,
  VerifyResponse,
} from '@byok/contract';
import { chunkItems, contextSize, DEFAULT_MAX_BATCH_BYTES } from './batch-chunks.js';
import { ByokApiError } from './client-errors.js';
import type {
  AuditEvent,
  AuditPage,
  AuditQueryInput,
  AuditVerification,
  Cmk,
  CreatedToken,
  CreateTenantInput,
  CreateTokenInput,
  DecryptItem,
  DecryptItemResult,
  DecryptOptions,
  EncryptionContext,
  EncryptItem,
  EncryptItemResult,
  EncryptResult,
  HealthStatus,
  ListSecretsOptions,
  Policy,
  PutCmkInput,
  PutPolicyInput,
  PutSecretInput,
  RevealedSecret,
  RevealOptions,
  SecretMetadata,
  SecretPage,
  Tenant,
} from './client-types.js';
import { HttpTransport, type TransportOptions } from './http-transport.js';
import { AuditQueryIn, bytes, HealthBody, ListQuery, seg, validate } from './request-validation.js';

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

  /** `GET /healthz`: the process is up (no authentication). */
  async health(): Promise<HealthStatus> {
    return this.http.call({
      method: 'GET',
      path: '/healthz',
      response: HealthBody,
      idempotent: true,
      anonymous: true,
    });
  }

  /** `GET /readyz`: the process can reach its database; STORE_UNAVAILABLE otherwise. */
  async ready(): Promise<HealthStatus> {
    return this.http.call({
      method: 'GET',
      path: '/readyz',
      response: HealthBody,
      idempotent: true,
      anonymous: true,
    });
  }

  /** Creates a tenant (platform admin). Not retried. */
  async createTenant(input: CreateTenantInput): Promise<Tenant> {
    const body = validate(CreateTenantRequest, input, 'createTenant input');
    return this.http.call({
      method: 'POST',
      path: '/v1/tenants',
      body,
      response: TenantResponse,
      idempotent: false,
    });
  }

  /** Reads a tenant. */
  async getTenant(tenantId: string): Promise<Tenant> {
    return this.http.call({
      method: 'GET',
      path: this.tenantPath(tenantId),
      response: TenantResponse,
      idempotent: true,
    });
  }

  /** Registers (or replaces) the tenant's customer key; the service proves wrap + unwrap first. */
  async putCmk(tenantId: string, input: PutCmkInput): Promise<Cmk> {
    const body = validate(PutCmkRequest, input, 'putCmk input');
    return this.http.call({
      method: 'PUT',
      path: `${this.tenantPath(tenantId)}/cmk`,
      body,
      response: CmkResponse,
      idempotent: true,
    });
  }

  /** Reads the tenant's customer key registration and health. */
  async getCmk(tenantId: string): Promise<Cmk> {
    const path = `${this.tenantPath(tenantId)}/cmk`;
    return this.http.call({ method: 'GET', path, response: CmkResponse, idempotent: true });
  }

  /** Reads the tenant's policy. */
  async getPolicy(tenantId: string): Promise<Policy> {
    const path = `${this.tenantPath(tenantId)}/policy`;
    return this.http.call({ method: 'GET', path, response: PolicyResponse, idempotent: true });
  }

  /** Updates the tenant's policy (absent fields keep their value). */
  async putPolicy(tenantId: string, input: PutPolicyInput): Promise<Policy> {
    const body = validate(PutPolicyRequest, input, 'putPolicy input');
    const path = `${this.tenantPath(tenantId)}/policy`;
    return this.http.call({ method: 'PUT', path, body, response: PolicyResponse, idempotent: true });
  }

  /** Issues a token; the response is the only place its value appears. Not retried. */
  async createToken(input: CreateTokenInput): Promise<CreatedToken> {
    const body = validate(CreateTokenRequest, input, 'createToken input');
    return this.http.call({
      method: 'POST',
      path: '/v1/tokens',
      body,
      response: CreateTokenResponse,
      idempotent: false,
    });
  }

  /** Encrypts `plaintext` (at most 1 MiB) under the tenant's key, bound to `context`. */
  async encrypt(
    tenantId: string,
    plaintext: Uint8Array,
    context?: EncryptionContext,
  ): Promise<EncryptResult> {
    const body = validate(
      EncryptRequest,
      { plaintext: bytes(plaintext, 'plaintext').toString('base64'), ...(context ? { context } : {}) },
      'encrypt input',
    );
    const path = `${this.tenantPath(tenantId)}/encrypt`;
    return this.http.call({ method: 'POST', path, body, response: EncryptResponse, idempotent: true });
  }

  /** Decrypts a ciphertext made by {@link encrypt}; the same `context` must be given. */
  async decrypt(tenantId: string, ciphertext: string, opts: DecryptOptions = {}): Promise<Buffer> {
    const body = validate(
      DecryptRequest,
      {
        ciphertext,
        ...(opts.context ? { context: opts.context } : {}),
        ...(opts.purpose !== undefined ? { purpose: opts.purpose } : {}),
      },
      'decrypt input',
    );
    const path = `${this.tenantPath(tenantId)}/decrypt`;
    const r = await this.http.call({
      method: 'POST',
      path,
      body,
      response: DecryptResponse,
      idempotent: true,
    });
    return Buffer.from(r.plaintext, 'base64');
  }

  /**
   * Encrypts many plaintexts; any number of items, sent in chunks of at most `batchSize` items
   * and `maxBatchBytes`. Results are per item, in input order. A failure of a whole chunk (e.g.
   * FORBIDDEN) throws.
   */
  async encryptBatch(tenantId: string, items: readonly EncryptItem[]): Promise<EncryptItemResult[]> {
    const path = `${this.tenantPath(tenantId)}/encrypt/batch`;
    const wire = items.map((it, i) => ({
      plaintext: bytes(it?.plaintext, `items[${i}].plaintext`).toString('base64'),
      ...(it.context ? { context: it.context } : {}),
    }));
    const out: EncryptItemResult[] = [];
    for (const chunk of this.chunks(wire, (w) => w.plaintext.length + contextSize(w.context))) {
      const body = validate(EncryptBatchRequest, { items: chunk }, 'encryptBatch input');
      const r = await this.http.call({
        method: 'POST',
        path,
        body,
        response: EncryptBatchResponse,
        idempotent: true,
      });
      out.push(...this.checkCount(r.results, chunk.length, path));
    }
    return out;
  }

  /** Decrypts many ciphertexts (one purpose for all); chunked like {@link encryptBatch}. */
  async decryptBatch(
    tenantId: string,
    items: readonly DecryptItem[],
    opts: { purpose?: string } = {},
  ): Promise<DecryptItemResult[]> {
    const path = `${this.tenantPath(tenantId)}/decrypt/batch`;
    const out: DecryptItemResult[] = [];
    for (const chunk of this.chunks(
      items,
      (it) => (it?.ciphertext?.length ?? 0) + contextSize(it?.context),
    )) {
      const body = validate(
        DecryptBatchRequest,
        { items: chunk, ...(opts.purpose !== undefined ? { purpose: opts.purpose } : {}) },
        'decryptBatch input',
      );
      const r = await this.http.call({
        method: 'POST',
        path,
        body,
        response: DecryptBatchResponse,
        idempotent: true,
      });
      for (const x of this.checkCount(r.results, chunk.length, path))
        out.push(x.ok ? { ok: true, plaintext: Buffer.from(x.plaintext, 'base64') } : x);
    }
    return out;
  }

  /** Stores a new version of secret `name` (the value is format-checked per kind first). */
  async putSecret(tenantId: string, name: string, input: PutSecretInput): Promise<SecretMetadata> {
    const body = validate(PutSecretRequest, input, 'putSecret input');
    const path = this.secretPath(tenantId, name);
    return this.http.call({ method: 'PUT', path, body, response: SecretMetadataSchema, idempotent: true });
  }

  /** One page of secret metadata (never values), by name. */
  async listSecrets(tenantId: string, opts: ListSecretsOptions = {}): Promise<SecretPage> {
    const q = validate(ListQuery, opts, 'listSecrets options');
    const path = `${this.tenantPath(tenantId)}/secrets`;
    return this.http.call({ method: 'GET', path, query: q, response: SecretList, idempotent: true });
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
    const path = this.secretPath(tenantId, name);
    return this.http.call({ method: 'GET', path, response: SecretMetadataSchema, idempotent: true });
  }

  /** The secret's value (audited, with the declared purpose). Keep it out of logs. */
  async revealSecret(tenantId: string, name: string, opts: RevealOptions = {}): Promise<RevealedSecret> {
    const body = validate(RevealRequest, opts, 'revealSecret options');
    const path = `${this.secretPath(tenantId, name)}/reveal`;
    return this.http.call({ method: 'POST', path, body, response: RevealResponse, idempotent: true });
  }

  /** Deletes the secret and all its versions. */
  async deleteSecret(tenantId: string, name: string): Promise<void> {
    await this.http.call({
      method: 'DELETE',
      path: this.secretPath(tenantId, name),
      response: null,
      idempotent: true,
    });
  }

  /** One page of audit events matching `query` (oldest first). */
  async queryAudit(query: AuditQueryInput = {}): Promise<AuditPage> {
    const q = validate(AuditQueryIn, query, 'queryAudit query');
    return this.http.call({
      method: 'GET',
      path: '/v1/audit',
      query: q,
      response: AuditPageSchema,
      idempotent: true,
    });
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
    const tenant = validate(TenantId, tenantId, 'tenantId');
    return this.http.call({
      method: 'GET',
      path: '/v1/audit/verify',
      query: { tenantId: tenant },
      response: VerifyResponse,
      idempotent: true,
    });
  }

  private tenantPath(tenantId: string): string {
    return `/v1/tenants/${seg(validate(TenantId, tenantId, 'tenantId'))}`;
  }

  private secretPath(tenantId: string, name: string): string {
    return `${this.tenantPath(tenantId)}/secrets/${seg(validate(SecretName, name, 'secret name'))}`;
  }

  private chunks<T>(items: readonly T[], sizeOf: (item: T) => number): T[][] {
    if (!Array.isArray(items))
      throw new ByokApiError({ code: 'REQUEST_INVALID', detail: 'items must be an array' });
    return chunkItems(items, sizeOf, this.batchSize, this.maxBatchBytes);
  }

  /** A batch answer with a different item count cannot be matched to its inputs: refuse it. */
  private checkCount<T>(results: T[], expected: number, path: string): T[] {
    if (results.length !== expected)
      throw new ByokApiError({
        code: 'RESPONSE_INVALID',
        detail: `POST ${path}: ${results.length} results for ${expected} items`,
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
