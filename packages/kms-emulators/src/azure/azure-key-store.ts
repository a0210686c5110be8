import {
  constants,
  createCipheriv,
  createDecipheriv,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

/** Key types the emulator can create. */
export type AzureEmulatorKty = 'RSA' | 'RSA-HSM' | 'oct' | 'oct-HSM';

/** Wrap algorithms the emulator performs server-side. */
export const AZURE_WRAP_ALGORITHMS = ['RSA-OAEP-256', 'RSA-OAEP', 'RSA1_5', 'A256KW'] as const;

/** A Key Vault style error the HTTP layer turns into `{"error":{code,message,innererror}}`. */
export class AzureVaultError extends Error {
  override readonly name = 'AzureVaultError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
  }
}

/** One version of an emulated key, with its material (never sent over the wire except public parts). */
export interface AzureKeyVersion {
  version: string;
  kty: AzureEmulatorKty;
  keySize: number;
  enabled: boolean;
  created: number;
  updated: number;
  keyOps: string[];
  tags: Record<string, string>;
  publicKey?: KeyObject;
  privateKey?: KeyObject;
  secret?: Buffer;
}

interface KeyEntry {
  name: string;
  versions: AzureKeyVersion[];
  deletedAt?: number;
}

const RSA_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];
const OCT_OPS = ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'];
const A256KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

const now = (): number => Math.floor(Date.now() / 1000);

/** Options for creating a key (the body of `POST /keys/{name}/create`, in our words). */
export interface CreateKeyOptions {
  kty: AzureEmulatorKty;
  keySize?: number;
  keyOps?: string[];
  enabled?: boolean;
  tags?: Record<string, string>;
}

/** In-memory keys of one emulated vault: versions, attributes, soft delete, wrap/unwrap. */
export class AzureKeyStore {
  private readonly keys = new Map<string, KeyEntry>();

  /** Creates a new key, or a new version of an existing one; returns the new version. */
  create(name: string, opts: CreateKeyOptions): AzureKeyVersion {
    const existing = this.keys.get(name);
    if (existing?.deletedAt !== undefined) {
      throw new AzureVaultError(
        409,
        'Conflict',
        `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`,
        'ObjectIsDeletedButRecoverable',
      );
    }
    const isRsa = opts.kty === 'RSA' || opts.kty === 'RSA-HSM';
    const keySize = opts.keySize ?? (isRsa ? 2048 : 256);
    const v: AzureKeyVersion = {
      version: randomBytes(16).toString('hex'),
      kty: opts.kty,
      keySize,
      enabled: opts.enabled ?? true,
      created: now(),
      updated: now(),
      keyOps: opts.keyOps ?? (isRsa ? RSA_OPS : OCT_OPS),
      tags: opts.tags ?? {},
    };
    if (isRsa) {
      if (![2048, 3072, 4096].includes(keySize)) {
        throw new AzureVaultError(400, 'BadParameter', `Invalid key size ${keySize} for RSA keys.`);
      }
      const pair = generateKeyPairSync('rsa', { modulusLength: keySize });
      v.publicKey = pair.publicKey;
      v.privateKey = pair.privateKey;
    } else if (opts.kty === 'oct' || opts.kty === 'oct-HSM') {
      if (keySize !== 256) {
        throw new AzureVaultError(400, 'BadParameter', 'The emulator supports 256-bit oct keys only.');
      }
      v.secret = randomBytes(32);
    } else {
      throw new AzureVaultError(400, 'BadParameter', `Unsupported key type ${String(opts.kty)}.`);
    }
    const entry = existing ?? { name, versions: [] };
    entry.versions.push(v);
    this.keys.set(name, entry);
    return v;
  }

  /** True when a live (not deleted) key of this name exists. */
  has(name: string): boolean {
    const e = this.keys.get(name);
    return e !== undefined && e.deletedAt === undefined;
  }

  /** The named version, or the latest one when `version` is empty. */
  get(name: string, version?: string): AzureKeyVersion {
    const e = this.keys.get(name);
    if (!e || e.deletedAt !== undefined) {
      throw new AzureVaultError(
        404,
        'KeyNotFound',
        `A key with (name/id) ${name} was not found in this key vault.`,
      );
    }
    const v = version ? e.versions.find((x) => x.version === version) : e.versions[e.versions.length - 1];
    if (!v) {
      throw new AzureVaultError(
        404,
        'KeyNotFound',
        `A key with (name/id) ${name}/${version ?? ''} was not found in this key vault.`,
      );
    }
    return v;
  }

  /** Changes attributes of one version (`PATCH /keys/{name}/{version}`). */
  update(
    name: string,
    version: string,
    patch: { enabled?: boolean; tags?: Record<string, string> },
  ): AzureKeyVersion {
    const v = this.get(name, version);
    if (typeof patch.enabled === 'boolean') v.enabled = patch.enabled;
    if (patch.tags) v.tags = patch.tags;
    v.updated = now();
    return v;
  }

  /** Soft delete: the key disappears from `/keys` and shows under `/deletedkeys`. */
  delete(name: string): AzureKeyVersion {
    const v = this.get(name);
    const e = this.keys.get(name);
    if (e) e.deletedAt = now();
    return v;
  }

  /** The latest version of a soft-deleted key, with its deletion time. */
  getDeleted(name: string): { v: AzureKeyVersion; deletedAt: number } {
    const e = this.keys.get(name);
    const v = e?.versions[e.versions.length - 1];
    if (!e || e.deletedAt === undefined || !v) {
      throw new AzureVaultError(404, 'KeyNotFound', `Deleted Key not found: ${name}`);
    }
    return { v, deletedAt: e.deletedAt };
  }

  /** Undoes a soft delete. */
  recover(name: string): AzureKeyVersion {
    const { v } = this.getDeleted(name);
    const e = this.keys.get(name);
    if (e) delete e.deletedAt;
    return v;
  }

  /** Server-side wrap; refuses disabled keys and algorithms that do not fit the key type. */
  wrap(
    name: string,
    version: string | undefined,
    alg: string,
    value: Buffer,
  ): { v: AzureKeyVersion; out: Buffer } {
    const v = this.usable(name, version, 'wrapKey');
    return { v, out: this.apply(v, alg, value, 'wrap') };
  }

  /** Server-side unwrap; a blob that does not decrypt is 400 BadParameter. */
  unwrap(
    name: string,
    version: string | undefined,
    alg: string,
    value: Buffer,
  ): { v: AzureKeyVersion; out: Buffer } {
    const v = this.usable(name, version, 'unwrapKey');
    return { v, out: this.apply(v, alg, value, 'unwrap') };
  }

  private usable(name: string, version: string | undefined, op: string): AzureKeyVersion {
    const v = this.get(name, version);
    if (!v.enabled) {
      throw new AzureVaultError(
        403,
        'Forbidden',
        `Operation ${op} is not allowed on a disabled key.`,
        'KeyDisabled',
      );
    }
    if (!v.keyOps.includes(op)) {
      throw new AzureVaultError(
        403,
        'Forbidden',
        `Operation ${op} is not permitted on this key.`,
        'KeyOperationForbidden',
      );
    }
    return v;
  }

  private apply(v: AzureKeyVersion, alg: string, value: Buffer, dir: 'wrap' | 'unwrap'): Buffer {
    const badAlg = (): AzureVaultError =>
      new AzureVaultError(400, 'BadParameter', `Algorithm ${alg} is not supported for key type ${v.kty}.`);
    try {
      if (v.publicKey && v.privateKey) {
        if (alg === 'RSA-OAEP-256' || alg === 'RSA-OAEP') {
          const opts = {
            padding: constants.RSA_PKCS1_OAEP_PADDING,
            oaepHash: alg === 'RSA-OAEP' ? 'sha1' : 'sha256',
          };
          return dir === 'wrap'
            ? publicEncrypt({ key: v.publicKey, ...opts }, value)
            : privateDecrypt({ key: v.privateKey, ...opts }, value);
        }
        if (alg === 'RSA1_5') {
          return dir === 'wrap'
            ? publicEncrypt({ key: v.publicKey, padding: constants.RSA_PKCS1_PADDING }, value)
            : unpadPkcs1(privateDecrypt({ key: v.privateKey, padding: constants.RSA_NO_PADDING }, value));
        }
        throw badAlg();
      }
      if (v.secret && alg === 'A256KW') {
        if (value.length < 16 || value.length % 8 !== 0)
          throw new Error('A256KW input must be 8-byte blocks');
        const c =
          dir === 'wrap'
            ? createCipheriv('id-aes256-wrap', v.secret, A256KW_IV)
            : createDecipheriv('id-aes256-wrap', v.secret, A256KW_IV);
        return Buffer.concat([c.update(value), c.final()]);
      }
      throw badAlg();
    } catch (err) {
      if (err instanceof AzureVaultError) throw err;
      // Azure says no more than this about a failed unwrap; neither do we.
      throw new AzureVaultError(400, 'BadParameter', 'The parameter is incorrect.');
    }
  }

  /** The JSON key bundle Key Vault returns (public parts only). */
  bundle(baseUrl: string, name: string, v: AzureKeyVersion): Record<string, unknown> {
    const key: Record<string, unknown> = {
      kid: `${baseUrl}/keys/${name}/${v.version}`,
      kty: v.kty,
      key_ops: v.keyOps,
    };
    if (v.publicKey) {
      const jwk = v.publicKey.export({ format: 'jwk' });
      key['n'] = jwk.n;
      key['e'] = jwk.e;
    }
    return {
      key,
      attributes: {
        enabled: v.enabled,
        created: v.created,
        updated: v.updated,
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: 90,
        exportable: false,
      },
      tags: v.tags,
    };
  }
}

function unpadPkcs1(block: Buffer): Buffer {
  // EME-PKCS1-v1_5: 00 02 PS(>=8 non-zero) 00 M. Done by hand because Node 20 refuses
  // RSA_PKCS1_PADDING in privateDecrypt (Marvin mitigation).
  if (block[0] !== 0x00 || block[1] !== 0x02) throw new Error('bad padding');
  const sep = block.indexOf(0x00, 2);
  if (sep < 10) throw new Error('bad padding');
  return block.subarray(sep + 1);
}
