import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { KmsError } from '../errors.js';

/**
 * A development-only key held by the local provider. The material is a raw 256-bit AES key,
 * which is exactly what a real KMS never lets out: never use these keys for real data.
 */
export interface LocalKeyRecord {
  name: string;
  /** Random id, bound into every blob, so a key re-created under the same name cannot unwrap old blobs. */
  id: string;
  material: Uint8Array;
  enabled: boolean;
  createdAt: string;
}

/** What admin listings show: everything but the material. */
export type LocalKeyInfo = Omit<LocalKeyRecord, 'material'>;

/** Storage for development-only local keys (see {@link FileLocalKeyStore}, {@link MemoryLocalKeyStore}). */
export interface LocalKeyStore {
  /** The key named `name`, with its material, or undefined. */
  get(name: string): Promise<LocalKeyRecord | undefined>;
  /** Creates a fresh 256-bit key; throws KMS_MISCONFIGURED if the name is taken. */
  createKey(name: string): Promise<LocalKeyInfo>;
  /** Returns the key named `name`, creating it first if it does not exist. */
  ensureKey(name: string): Promise<LocalKeyInfo>;
  /** Disables a key: the local provider then refuses it with KEY_REVOKED. */
  disableKey(name: string): Promise<void>;
  /** Enables a disabled key again. */
  enableKey(name: string): Promise<void>;
  /** All keys, without material. */
  listKeys(): Promise<LocalKeyInfo[]>;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new KmsError(
      'KMS_MISCONFIGURED',
      'local key names are 1-64 letters, digits, dots, dashes or underscores',
      { provider: 'local', keyRef: `local:${String(name).slice(0, 64)}` },
    );
  }
}

function notFound(name: string): KmsError {
  return new KmsError('KEY_NOT_FOUND', `local key local:${name} does not exist`, {
    provider: 'local',
    keyRef: `local:${name}`,
  });
}

function info(r: LocalKeyRecord): LocalKeyInfo {
  return { name: r.name, id: r.id, enabled: r.enabled, createdAt: r.createdAt };
}

function newRecord(name: string): LocalKeyRecord {
  return {
    name,
    id: randomUUID(),
    material: randomBytes(32),
    enabled: true,
    createdAt: new Date().toISOString(),
  };
}

/**
 * Shared logic over a map of records; subclasses decide how the map is loaded and saved.
 * Mutations run one at a time within a process so a read-modify-write is never interleaved.
 */
abstract class BaseLocalKeyStore implements LocalKeyStore {
  private queue: Promise<unknown> = Promise.resolve();

  protected abstract load(): Promise<Map<string, LocalKeyRecord>>;
  protected abstract save(keys: Map<string, LocalKeyRecord>): Promise<void>;

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async get(name: string): Promise<LocalKeyRecord | undefined> {
    const r = (await this.load()).get(name);
    return r ? { ...r, material: new Uint8Array(r.material) } : undefined;
  }

  createKey(name: string): Promise<LocalKeyInfo> {
    checkName(name);
    return this.serial(async () => {
      const keys = await this.load();
      if (keys.has(name)) {
        throw new KmsError('KMS_MISCONFIGURED', `local key local:${name} already exists`, {
          provider: 'local',
          keyRef: `local:${name}`,
        });
      }
      const r = newRecord(name);
      keys.set(name, r);
      await this.save(keys);
      return info(r);
    });
  }

  ensureKey(name: string): Promise<LocalKeyInfo> {
    checkName(name);
    return this.serial(async () => {
      const keys = await this.load();
      const existing = keys.get(name);
      if (existing) return info(existing);
      const r = newRecord(name);
      keys.set(name, r);
      await this.save(keys);
      return info(r);
    });
  }

  disableKey(name: string): Promise<void> {
    return this.setEnabled(name, false);
  }

  enableKey(name: string): Promise<void> {
    return this.setEnabled(name, true);
  }

  async listKeys(): Promise<LocalKeyInfo[]> {
    return [...(await this.load()).values()].map(info).sort((a, b) => a.name.localeCompare(b.name));
  }

  private setEnabled(name: string, enabled: boolean): Promise<void> {
    return this.serial(async () => {
      const keys = await this.load();
      const r = keys.get(name);
      if (!r) throw notFound(name);
      keys.set(name, { ...r, enabled });
      await this.save(keys);
    });
  }
}

/** In-memory store for tests and throwaway dev runs. Development-only. */
export class MemoryLocalKeyStore extends BaseLocalKeyStore {
  private keys = new Map<string, LocalKeyRecord>();

  protected async load(): Promise<Map<string, LocalKeyRecord>> {
    return new Map(this.keys);
  }

  protected async save(keys: Map<string, LocalKeyRecord>): Promise<void> {
    this.keys = new Map(keys);
  }
}

interface FileShape {
  version: 1;
  keys: { name: string; id: string; material: string; enabled: boolean; createdAt: string }[];
}

/**
 * Development-only key store in one JSON file (mode 0600, raw key material inside: never point it
 * at real data). Writes are atomic (temp file + rename). The file is re-read whenever its inode,
 * mtime or size changes, so several service processes sharing one data dir see each other's
 * disable/enable; two processes creating keys at the same instant may lose one of the writes.
 */
export class FileLocalKeyStore extends BaseLocalKeyStore {
  private cache: Map<string, LocalKeyRecord> | undefined;
  private stamp = '';

  /** @param path the JSON file; created on first write. */
  constructor(readonly path: string) {
    super();
  }

  protected async load(): Promise<Map<string, LocalKeyRecord>> {
    let stamp: string;
    try {
      const s = await stat(this.path, { bigint: true });
      stamp = `${s.ino}:${s.mtimeNs}:${s.size}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw this.unreadable(err);
    }
    if (this.cache && stamp === this.stamp) return new Map(this.cache);
    let parsed: FileShape;
    try {
      parsed = JSON.parse(await readFile(this.path, 'utf8')) as FileShape;
    } catch (err) {
      throw this.unreadable(err);
    }
    if (parsed?.version !== 1 || !Array.isArray(parsed.keys)) throw this.unreadable(undefined);
    const keys = new Map<string, LocalKeyRecord>();
    for (const k of parsed.keys) {
      keys.set(k.name, {
        name: k.name,
        id: k.id,
        material: Buffer.from(k.material, 'base64'),
        enabled: k.enabled,
        createdAt: k.createdAt,
      });
    }
    this.cache = keys;
    this.stamp = stamp;
    return new Map(keys);
  }

  protected async save(keys: Map<string, LocalKeyRecord>): Promise<void> {
    const body: FileShape = {
      version: 1,
      keys: [...keys.values()].map((r) => ({
        name: r.name,
        id: r.id,
        material: Buffer.from(r.material).toString('base64'),
        enabled: r.enabled,
        createdAt: r.createdAt,
      })),
    };
    const tmp = `${this.path}.${process.pid}.${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new KmsError('KMS_MISCONFIGURED', 'local key store file could not be written', {
        provider: 'local',
        cause: err,
      });
    }
    this.cache = undefined;
  }

  private unreadable(cause: unknown): KmsError {
    return new KmsError('KMS_MISCONFIGURED', 'local key store file is unreadable or not a key store', {
      provider: 'local',
      cause,
    });
  }
}
