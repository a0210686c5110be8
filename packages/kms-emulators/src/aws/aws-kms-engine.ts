import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';

/** An AWS KMS error as the wire carries it: `{"__type": type, "message": message}` with `status`. */
export class AwsKmsFault extends Error {
  override readonly name = 'AwsKmsFault';
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The key states the emulator models. */
export type AwsKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface EmulatedKey {
  id: string;
  arn: string;
  region: string;
  material: Buffer;
  state: AwsKeyState;
  description: string;
  multiRegion: boolean;
  created: number;
  deletionDate?: number;
}

interface EmulatedAlias {
  name: string;
  keyId: string;
  created: number;
}

type Json = Record<string, unknown>;

const BLOB_VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

const now = (): number => Date.now() / 1000;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function str(body: Json, field: string, required: true): string;
function str(body: Json, field: string, required?: false): string | undefined;
function str(body: Json, field: string, required = false): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required)
      throw new AwsKmsFault('ValidationException', `1 validation error detected: ${field} must not be null`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0)
    throw new AwsKmsFault('ValidationException', `${field} must be a string`);
  return v;
}

function bytes(body: Json, field: string, min: number, max: number): Buffer {
  const s = str(body, field, true);
  const buf = Buffer.from(s, 'base64');
  if (buf.length < min || buf.length > max) {
    throw new AwsKmsFault('ValidationException', `${field} must be ${min}-${max} bytes`);
  }
  return buf;
}

function context(body: Json, field: string): string {
  const v = body[field] ?? {};
  if (typeof v !== 'object' || Array.isArray(v) || v === null) {
    throw new AwsKmsFault('ValidationException', `${field} must be a map of strings`);
  }
  const entries = Object.entries(v as Json);
  if (entries.some(([, x]) => typeof x !== 'string')) {
    throw new AwsKmsFault('ValidationException', `${field} values must be strings`);
  }
  return JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function page<T>(items: T[], body: Json): { items: T[]; Truncated: boolean; NextMarker?: string } {
  const limit = typeof body.Limit === 'number' ? body.Limit : 100;
  if (limit < 1 || limit > 1000) throw new AwsKmsFault('ValidationException', 'Limit must be 1-1000');
  const start = typeof body.Marker === 'string' ? Number.parseInt(body.Marker, 10) || 0 : 0;
  const slice = items.slice(start, start + limit);
  const more = start + limit < items.length;
  return more
    ? { items: slice, Truncated: true, NextMarker: String(start + limit) }
    : { items: slice, Truncated: false };
}

/**
 * The emulator's KMS: symmetric keys held in memory per region, aliases, key states and an
 * AES-256-GCM blob format of its own (`0x01 | len | key id | iv | ct | tag`, with the key id
 * and the sorted encryption context as AAD). Operations take the parsed JSON body and return
 * the JSON response, throwing {@link AwsKmsFault} as AWS would.
 */
export class AwsKmsEngine {
  private readonly keys = new Map<string, EmulatedKey>();
  private readonly aliases = new Map<string, EmulatedAlias>();
  private readonly denied = new Set<string>();

  constructor(readonly accountId: string) {}

  /** Forgets every key and alias. */
  clear(): void {
    this.keys.clear();
    this.aliases.clear();
    this.denied.clear();
  }

  /** Stands in for a key policy change: denied keys answer AccessDeniedException to every operation. */
  setDenied(region: string, keyIdOrArn: string, denied: boolean): void {
    const key = this.resolve(region, keyIdOrArn);
    if (denied) this.denied.add(key.arn);
    else this.denied.delete(key.arn);
  }

  /** Clears every denial. */
  clearDenied(): void {
    this.denied.clear();
  }

  /** Runs `op` for the caller in `region`. */
  handle(op: string, region: string, body: Json): Json {
    switch (op) {
      case 'CreateKey':
        return this.createKey(region, body);
      case 'DescribeKey':
        return { KeyMetadata: this.metadata(this.usable(region, body, 'DescribeKey', false)) };
      case 'ListKeys': {
        const keys = [...this.keys.values()].filter((k) => k.region === region);
        const { items, ...rest } = page(keys, body);
        return { Keys: items.map((k) => ({ KeyId: k.id, KeyArn: k.arn })), ...rest };
      }
      case 'CreateAlias':
        return this.createAlias(region, body);
      case 'DeleteAlias': {
        const name = str(body, 'AliasName', true);
        if (!this.aliases.delete(`${region}/${name}`)) throw this.notFound(region, name);
        return {};
      }
      case 'ListAliases':
        return this.listAliases(region, body);
      case 'Encrypt': {
        const key = this.usable(region, body, 'Encrypt', true);
        const blob = this.seal(key, bytes(body, 'Plaintext', 1, 4096), context(body, 'EncryptionContext'));
        return { CiphertextBlob: b64(blob), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      }
      case 'Decrypt': {
        const { key, plaintext } = this.open(
          region,
          body,
          'CiphertextBlob',
          'KeyId',
          'EncryptionContext',
          'Decrypt',
        );
        return { Plaintext: b64(plaintext), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      }
      case 'GenerateDataKey':
      case 'GenerateDataKeyWithoutPlaintext': {
        const key = this.usable(region, body, op, true);
        const plaintext = randomBytes(this.dataKeyLength(body));
        const blob = this.seal(key, plaintext, context(body, 'EncryptionContext'));
        const out: Json = { CiphertextBlob: b64(blob), KeyId: key.arn };
        if (op === 'GenerateDataKey') out.Plaintext = b64(plaintext);
        return out;
      }
      case 'ReEncrypt': {
        const src = this.open(
          region,
          body,
          'CiphertextBlob',
          'SourceKeyId',
          'SourceEncryptionContext',
          'ReEncryptFrom',
        );
        const dest = this.usable(region, body, 'ReEncryptTo', true, 'DestinationKeyId');
        const blob = this.seal(dest, src.plaintext, context(body, 'DestinationEncryptionContext'));
        return {
          CiphertextBlob: b64(blob),
          SourceKeyId: src.key.arn,
          KeyId: dest.arn,
          SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
          DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        };
      }
      case 'EnableKey':
      case 'DisableKey': {
        const key = this.usable(region, body, op, false);
        if (key.state === 'PendingDeletion') throw this.pendingDeletion(key);
        key.state = op === 'EnableKey' ? 'Enabled' : 'Disabled';
        return {};
      }
      case 'ScheduleKeyDeletion': {
        const key = this.usable(region, body, op, false);
        if (key.state === 'PendingDeletion') throw this.pendingDeletion(key);
        const days = body.PendingWindowInDays ?? 30;
        if (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30) {
          throw new AwsKmsFault('ValidationException', 'PendingWindowInDays must be between 7 and 30');
        }
        key.state = 'PendingDeletion';
        key.deletionDate = Math.floor(now() + days * 86400);
        return {
          KeyId: key.arn,
          DeletionDate: key.deletionDate,
          KeyState: key.state,
          PendingWindowInDays: days,
        };
      }
      case 'CancelKeyDeletion': {
        const key = this.usable(region, body, op, false);
        if (key.state !== 'PendingDeletion') {
          throw new AwsKmsFault('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
        }
        key.state = 'Disabled';
        delete key.deletionDate;
        return { KeyId: key.arn };
      }
      default:
        throw new AwsKmsFault(
          'UnknownOperationException',
          `Operation ${op} is not supported by the emulator`,
        );
    }
  }

  private createKey(region: string, body: Json): Json {
    const usage = body.KeyUsage ?? 'ENCRYPT_DECRYPT';
    const spec = body.KeySpec ?? body.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
    if (usage !== 'ENCRYPT_DECRYPT' || spec !== 'SYMMETRIC_DEFAULT') {
      throw new AwsKmsFault(
        'UnsupportedOperationException',
        'The emulator supports SYMMETRIC_DEFAULT keys only',
      );
    }
    const multiRegion = body.MultiRegion === true;
    const id = multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID();
    const key: EmulatedKey = {
      id,
      arn: `arn:aws:kms:${region}:${this.accountId}:key/${id}`,
      region,
      material: randomBytes(32),
      state: 'Enabled',
      description: typeof body.Description === 'string' ? body.Description : '',
      multiRegion,
      created: now(),
    };
    this.keys.set(key.arn, key);
    return { KeyMetadata: this.metadata(key) };
  }

  private createAlias(region: string, body: Json): Json {
    const name = str(body, 'AliasName', true);
    if (!ALIAS_NAME.test(name) || name === 'alias/aws' || name.startsWith('alias/aws/')) {
      throw new AwsKmsFault('ValidationException', `Alias name ${name} is not valid`);
    }
    const target = str(body, 'TargetKeyId', true);
    if (target.startsWith('alias/') || /:alias\//.test(target)) {
      throw new AwsKmsFault('ValidationException', 'TargetKeyId must be a key id or key ARN');
    }
    const key = this.resolve(region, target);
    if (key.state === 'PendingDeletion') throw this.pendingDeletion(key);
    if (this.aliases.has(`${region}/${name}`)) {
      throw new AwsKmsFault(
        'AlreadyExistsException',
        `An alias with the name arn:aws:kms:${region}:${this.accountId}:${name} already exists`,
      );
    }
    this.aliases.set(`${region}/${name}`, { name, keyId: key.id, created: now() });
    return {};
  }

  private listAliases(region: string, body: Json): Json {
    const filter = str(body, 'KeyId');
    const keyId = filter === undefined ? undefined : this.resolve(region, filter).id;
    const all = [...this.aliases.entries()]
      .filter(([k, a]) => k.startsWith(`${region}/`) && (keyId === undefined || a.keyId === keyId))
      .map(([, a]) => ({
        AliasName: a.name,
        AliasArn: `arn:aws:kms:${region}:${this.accountId}:${a.name}`,
        TargetKeyId: a.keyId,
        CreationDate: a.created,
        LastUpdatedDate: a.created,
      }));
    const { items, ...rest } = page(all, body);
    return { Aliases: items, ...rest };
  }

  private dataKeyLength(body: Json): number {
    const spec = body.KeySpec;
    const n = body.NumberOfBytes;
    if ((spec === undefined) === (n === undefined)) {
      throw new AwsKmsFault('ValidationException', 'Specify exactly one of KeySpec and NumberOfBytes');
    }
    if (spec === 'AES_256') return 32;
    if (spec === 'AES_128') return 16;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1024) return n;
    throw new AwsKmsFault('ValidationException', 'KeySpec must be AES_256 or AES_128, NumberOfBytes 1-1024');
  }

  /** Finds a key by id, key ARN, alias name or alias ARN in `region`. */
  resolve(region: string, ref: string): EmulatedKey {
    let keyArn: string;
    const m = ARN.exec(ref);
    if (m) {
      const [, r, account, kind, rest] = m as unknown as [string, string, string, string, string];
      if (r !== region || account !== this.accountId) throw this.notFound(region, ref);
      if (kind === 'alias') return this.resolveAlias(region, `alias/${rest}`, ref);
      keyArn = `arn:aws:kms:${region}:${this.accountId}:key/${rest}`;
    } else if (ref.startsWith('alias/')) {
      return this.resolveAlias(region, ref, ref);
    } else {
      keyArn = `arn:aws:kms:${region}:${this.accountId}:key/${ref}`;
    }
    const key = this.keys.get(keyArn);
    if (!key) throw this.notFound(region, ref);
    return key;
  }

  private resolveAlias(region: string, name: string, asked: string): EmulatedKey {
    const alias = this.aliases.get(`${region}/${name}`);
    const key = alias && this.keys.get(`arn:aws:kms:${region}:${this.accountId}:key/${alias.keyId}`);
    if (!key) throw this.notFound(region, asked);
    return key;
  }

  private usable(region: string, body: Json, action: string, crypto: boolean, field = 'KeyId'): EmulatedKey {
    const key = this.resolve(region, str(body, field, true));
    this.authorize(key, action);
    if (crypto) this.checkState(key);
    return key;
  }

  private authorize(key: EmulatedKey, action: string): void {
    if (this.denied.has(key.arn)) {
      throw new AwsKmsFault(
        'AccessDeniedException',
        `User: arn:aws:iam::${this.accountId}:user/emulator is not authorized to perform: kms:${action} on resource: ${key.arn} because no resource-based policy allows the kms:${action} action`,
      );
    }
  }

  private checkState(key: EmulatedKey): void {
    if (key.state === 'Disabled') throw new AwsKmsFault('DisabledException', `${key.arn} is disabled.`);
    if (key.state === 'PendingDeletion') throw this.pendingDeletion(key);
  }

  private pendingDeletion(key: EmulatedKey): AwsKmsFault {
    return new AwsKmsFault('KMSInvalidStateException', `${key.arn} is pending deletion.`);
  }

  private notFound(region: string, ref: string): AwsKmsFault {
    const shown = ref.startsWith('arn:')
      ? ref
      : `arn:aws:kms:${region}:${this.accountId}:${ref.startsWith('alias/') ? ref : `key/${ref}`}`;
    return new AwsKmsFault(
      'NotFoundException',
      `${ref.includes('alias/') ? 'Alias' : 'Key'} '${shown}' does not exist`,
    );
  }

  private seal(key: EmulatedKey, plaintext: Buffer, ctx: string): Buffer {
    const id = Buffer.from(key.id, 'ascii');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.concat([id, Buffer.from(ctx, 'utf8')]));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.of(BLOB_VERSION, id.length), id, iv, ct, cipher.getAuthTag()]);
  }

  private open(
    region: string,
    body: Json,
    blobField: string,
    keyField: string,
    ctxField: string,
    action: string,
  ): { key: EmulatedKey; plaintext: Buffer } {
    const blob = bytes(body, blobField, 1, 6144);
    const ctx = context(body, ctxField);
    const asked = str(body, keyField);
    const askedKey = asked === undefined ? undefined : this.resolve(region, asked);
    const invalid = new AwsKmsFault('InvalidCiphertextException', 'The ciphertext is invalid.');
    const idLen = blob[1] ?? 0;
    if (blob[0] !== BLOB_VERSION || blob.length < 2 + idLen + IV_BYTES + TAG_BYTES) throw invalid;
    const id = blob.subarray(2, 2 + idLen).toString('ascii');
    if (askedKey && askedKey.id !== id) {
      throw new AwsKmsFault(
        'IncorrectKeyException',
        'The key ID in the request does not identify a CMK that can perform this operation.',
      );
    }
    const key = askedKey ?? this.keys.get(`arn:aws:kms:${region}:${this.accountId}:key/${id}`);
    if (!key) throw invalid;
    this.authorize(key, action);
    this.checkState(key);
    const iv = blob.subarray(2 + idLen, 2 + idLen + IV_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key.material, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([Buffer.from(id, 'ascii'), Buffer.from(ctx, 'utf8')]));
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    try {
      return {
        key,
        plaintext: Buffer.concat([
          decipher.update(blob.subarray(2 + idLen + IV_BYTES, blob.length - TAG_BYTES)),
          decipher.final(),
        ]),
      };
    } catch {
      throw invalid;
    }
  }

  private metadata(key: EmulatedKey): Json {
    const md: Json = {
      AWSAccountId: this.accountId,
      KeyId: key.id,
      Arn: key.arn,
      CreationDate: key.created,
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: key.state,
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: key.multiRegion,
    };
    if (key.deletionDate !== undefined) md.DeletionDate = key.deletionDate;
    if (key.multiRegion) {
      md.MultiRegionConfiguration = {
        MultiRegionKeyType: 'PRIMARY',
        PrimaryKey: { Arn: key.arn, Region: key.region },
        ReplicaKeys: [],
      };
    }
    return md;
  }
}
