import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GcpStatusError } from './gcp-status-error.js';

/** CryptoKeyVersion states the emulator models. */
export type GcpVersionState = 'ENABLED' | 'DISABLED' | 'DESTROYED' | 'DESTROY_SCHEDULED';

/** Proto enum numbers, for responses to clients asking `enum-encoding=int` (the SDK always does). */
export const GCP_VERSION_STATE_NUMBERS: Readonly<Record<GcpVersionState, number>> = {
  ENABLED: 1,
  DISABLED: 2,
  DESTROYED: 3,
  DESTROY_SCHEDULED: 4,
};

/** One CryptoKeyVersion: its AES-256 key lives here until the version is destroyed. */
export interface VersionRecord {
  readonly id: number;
  readonly name: string;
  state: GcpVersionState;
  material: Buffer | undefined;
  readonly createTime: Date;
  destroyTime: Date | undefined;
}

/** One ENCRYPT_DECRYPT CryptoKey. `uid` goes into every ciphertext so decrypt can tell keys apart. */
export interface CryptoKeyRecord {
  readonly name: string;
  readonly uid: Buffer;
  readonly createTime: Date;
  primaryId: number | undefined;
  readonly versions: Map<number, VersionRecord>;
  nextId: number;
}

const LOCATION = /^projects\/[^/]+\/locations\/[^/]+$/;
const RESOURCE_ID = /^[A-Za-z0-9_-]{1,63}$/;
const KEY_NAME = /^(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+)\/cryptoKeys\/([^/]+)$/;
const VERSION_NAME =
  /^(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+)\/cryptoKeyVersions\/(\d{1,20})$/;

// Ciphertext: format(1) | key uid(8) | version(u32) | iv(12) | AES-256-GCM output | tag(16).
// The header is authenticated along with the caller's AAD, so no part of it can be swapped.
const FORMAT = 0x01;
const HEADER_LEN = 1 + 8 + 4;
const IV_LEN = 12;
const TAG_LEN = 16;
/** Cloud KMS limits plaintext and AAD of symmetric Encrypt to 64 KiB each. */
export const GCP_MAX_PLAINTEXT = 64 * 1024;

const INVALID_CIPHERTEXT = 'Decryption failed: the ciphertext is invalid.';
const WRONG_KEY = "Decryption failed: verify that 'name' refers to the correct CryptoKey.";
// Real Cloud KMS schedules destruction 30 days out by default.
const DESTROY_DELAY_MS = 30 * 24 * 3600 * 1000;

function notFound(kind: string, name: string): GcpStatusError {
  return new GcpStatusError('NOT_FOUND', `${kind} ${name} not found.`);
}

function notEnabled(v: VersionRecord): GcpStatusError {
  return new GcpStatusError('FAILED_PRECONDITION', `${v.name} is not enabled, current state is: ${v.state}.`);
}

/** In-memory Cloud KMS resources and the symmetric crypto behind Encrypt/Decrypt. */
export class GcpKmsStore {
  private readonly keyRings = new Map<string, Date>();
  private readonly keys = new Map<string, CryptoKeyRecord>();

  /** CreateKeyRing: `parent` is `projects/P/locations/L`. */
  createKeyRing(parent: string, keyRingId: string): { name: string; createTime: Date } {
    if (!LOCATION.test(parent)) throw new GcpStatusError('INVALID_ARGUMENT', `Invalid parent: ${parent}`);
    if (!RESOURCE_ID.test(keyRingId)) {
      throw new GcpStatusError('INVALID_ARGUMENT', `Invalid key_ring_id: ${keyRingId}`);
    }
    const name = `${parent}/keyRings/${keyRingId}`;
    if (this.keyRings.has(name))
      throw new GcpStatusError('ALREADY_EXISTS', `KeyRing ${name} already exists.`);
    const createTime = new Date();
    this.keyRings.set(name, createTime);
    return { name, createTime };
  }

  /** GetKeyRing. */
  getKeyRing(name: string): { name: string; createTime: Date } {
    const createTime = this.keyRings.get(name);
    if (!createTime) throw notFound('KeyRing', name);
    return { name, createTime };
  }

  /** CreateCryptoKey (ENCRYPT_DECRYPT only), with version 1 as primary unless skipped. */
  createCryptoKey(parent: string, cryptoKeyId: string, skipInitialVersion = false): CryptoKeyRecord {
    if (!this.keyRings.has(parent)) throw notFound('KeyRing', parent);
    if (!RESOURCE_ID.test(cryptoKeyId)) {
      throw new GcpStatusError('INVALID_ARGUMENT', `Invalid crypto_key_id: ${cryptoKeyId}`);
    }
    const name = `${parent}/cryptoKeys/${cryptoKeyId}`;
    if (this.keys.has(name)) throw new GcpStatusError('ALREADY_EXISTS', `CryptoKey ${name} already exists.`);
    const key: CryptoKeyRecord = {
      name,
      uid: randomBytes(8),
      createTime: new Date(),
      primaryId: undefined,
      versions: new Map(),
      nextId: 1,
    };
    this.keys.set(name, key);
    if (!skipInitialVersion) key.primaryId = this.addVersion(key).id;
    return key;
  }

  /** Creates the key ring if needed and the CryptoKey with an enabled primary version 1. */
  ensureCryptoKey(name: string): CryptoKeyRecord {
    const m = KEY_NAME.exec(name);
    if (!m) throw new GcpStatusError('INVALID_ARGUMENT', `Invalid CryptoKey name: ${name}`);
    const [, ring, id] = m as unknown as [string, string, string];
    const existing = this.keys.get(name);
    if (existing) return existing;
    if (!this.keyRings.has(ring)) {
      const slash = ring.lastIndexOf('/keyRings/');
      this.createKeyRing(ring.slice(0, slash), ring.slice(slash + '/keyRings/'.length));
    }
    return this.createCryptoKey(ring, id);
  }

  /** GetCryptoKey. */
  getCryptoKey(name: string): CryptoKeyRecord {
    const key = this.keys.get(name);
    if (!key) throw notFound('CryptoKey', name);
    return key;
  }

  /** The primary version of `key`, if it has one. */
  primaryOf(key: CryptoKeyRecord): VersionRecord | undefined {
    return key.primaryId === undefined ? undefined : key.versions.get(key.primaryId);
  }

  /** CreateCryptoKeyVersion: a new ENABLED version; it does not become primary by itself. */
  createVersion(parent: string): VersionRecord {
    return this.addVersion(this.getCryptoKey(parent));
  }

  /** GetCryptoKeyVersion. */
  getVersion(name: string): VersionRecord {
    const m = VERSION_NAME.exec(name);
    if (!m) throw new GcpStatusError('INVALID_ARGUMENT', `Invalid CryptoKeyVersion name: ${name}`);
    const key = this.keys.get(m[1] as string);
    const version = key?.versions.get(Number(m[2]));
    if (!version) throw notFound('CryptoKeyVersion', name);
    return version;
  }

  /** UpdateCryptoKeyVersion with update mask `state`: only ENABLED <-> DISABLED, as in Cloud KMS. */
  setVersionState(name: string, state: string): VersionRecord {
    const v = this.getVersion(name);
    if (state !== 'ENABLED' && state !== 'DISABLED') {
      throw new GcpStatusError('INVALID_ARGUMENT', `Invalid state ${state}: must be ENABLED or DISABLED.`);
    }
    if (v.state !== 'ENABLED' && v.state !== 'DISABLED') {
      throw new GcpStatusError(
        'FAILED_PRECONDITION',
        `${v.name} cannot be updated, current state is: ${v.state}.`,
      );
    }
    v.state = state;
    return v;
  }

  /** DestroyCryptoKeyVersion: DESTROY_SCHEDULED, restorable until the destroy time. */
  destroyVersion(name: string): VersionRecord {
    const v = this.getVersion(name);
    if (v.state !== 'ENABLED' && v.state !== 'DISABLED') {
      throw new GcpStatusError('FAILED_PRECONDITION', `${v.name} is already ${v.state}.`);
    }
    v.state = 'DESTROY_SCHEDULED';
    v.destroyTime = new Date(Date.now() + DESTROY_DELAY_MS);
    return v;
  }

  /** RestoreCryptoKeyVersion: DESTROY_SCHEDULED -> DISABLED (the customer re-enables explicitly). */
  restoreVersion(name: string): VersionRecord {
    const v = this.getVersion(name);
    if (v.state !== 'DESTROY_SCHEDULED') {
      throw new GcpStatusError(
        'FAILED_PRECONDITION',
        `${v.name} is not scheduled for destruction, current state is: ${v.state}.`,
      );
    }
    v.state = 'DISABLED';
    v.destroyTime = undefined;
    return v;
  }

  /** Skips the 30-day wait: the version is DESTROYED and its key material is gone for good. */
  destroyNow(name: string): VersionRecord {
    const v = this.getVersion(name);
    v.material?.fill(0);
    v.material = undefined;
    v.state = 'DESTROYED';
    v.destroyTime = new Date();
    return v;
  }

  /** UpdateCryptoKeyPrimaryVersion: the new primary must be ENABLED. */
  setPrimary(name: string, versionId: string): CryptoKeyRecord {
    const key = this.getCryptoKey(name);
    const v = key.versions.get(Number(versionId));
    if (!/^\d{1,20}$/.test(versionId) || !v)
      throw notFound('CryptoKeyVersion', `${name}/cryptoKeyVersions/${versionId}`);
    if (v.state !== 'ENABLED') throw notEnabled(v);
    key.primaryId = v.id;
    return key;
  }

  /** Encrypt under the primary version (or an explicit version name). */
  encrypt(name: string, plaintext: Buffer, aad: Buffer): { version: VersionRecord; ciphertext: Buffer } {
    const vm = VERSION_NAME.exec(name);
    const key = this.getCryptoKey(vm ? (vm[1] as string) : name);
    const version = vm ? this.getVersion(name) : this.primaryOf(key);
    if (!version) throw new GcpStatusError('FAILED_PRECONDITION', `${key.name} has no primary version.`);
    if (plaintext.length > GCP_MAX_PLAINTEXT || aad.length > GCP_MAX_PLAINTEXT) {
      throw new GcpStatusError(
        'INVALID_ARGUMENT',
        'The plaintext or additional_authenticated_data is too large.',
      );
    }
    if (version.state !== 'ENABLED' || !version.material) throw notEnabled(version);
    const header = Buffer.alloc(HEADER_LEN);
    header[0] = FORMAT;
    key.uid.copy(header, 1);
    header.writeUInt32BE(version.id, 9);
    const iv = randomBytes(IV_LEN);
    const cipher = createCipheriv('aes-256-gcm', version.material, iv);
    cipher.setAAD(Buffer.concat([header, aad]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { version, ciphertext: Buffer.concat([header, iv, body, cipher.getAuthTag()]) };
  }

  /** Decrypt: the version comes from the ciphertext; state, key and AAD are all enforced. */
  decrypt(
    name: string,
    ciphertext: Buffer,
    aad: Buffer,
  ): { version: VersionRecord; plaintext: Buffer; usedPrimary: boolean } {
    const key = this.getCryptoKey(name);
    if (ciphertext.length < HEADER_LEN + IV_LEN + TAG_LEN || ciphertext[0] !== FORMAT) {
      throw new GcpStatusError('INVALID_ARGUMENT', INVALID_CIPHERTEXT);
    }
    if (!ciphertext.subarray(1, 9).equals(key.uid)) throw new GcpStatusError('INVALID_ARGUMENT', WRONG_KEY);
    const version = key.versions.get(ciphertext.readUInt32BE(9));
    if (!version) throw new GcpStatusError('INVALID_ARGUMENT', INVALID_CIPHERTEXT);
    if (version.state !== 'ENABLED' || !version.material) throw notEnabled(version);
    const iv = ciphertext.subarray(HEADER_LEN, HEADER_LEN + IV_LEN);
    const tag = ciphertext.subarray(ciphertext.length - TAG_LEN);
    const body = ciphertext.subarray(HEADER_LEN + IV_LEN, ciphertext.length - TAG_LEN);
    try {
      const decipher = createDecipheriv('aes-256-gcm', version.material, iv);
      decipher.setAAD(Buffer.concat([ciphertext.subarray(0, HEADER_LEN), aad]));
      decipher.setAuthTag(tag);
      const plaintext = Buffer.concat([decipher.update(body), decipher.final()]);
      return { version, plaintext, usedPrimary: key.primaryId === version.id };
    } catch {
      throw new GcpStatusError('INVALID_ARGUMENT', INVALID_CIPHERTEXT);
    }
  }

  private addVersion(key: CryptoKeyRecord): VersionRecord {
    const id = key.nextId++;
    const v: VersionRecord = {
      id,
      name: `${key.name}/cryptoKeyVersions/${id}`,
      state: 'ENABLED',
      material: randomBytes(32),
      createTime: new Date(),
      destroyTime: undefined,
    };
    key.versions.set(id, v);
    return v;
  }
}
