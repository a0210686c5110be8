import { createServer } from 'node:net';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import type { KmsError } from '@byok/kms';
import { type AwsKmsEmulator, startAwsKmsEmulator } from '@byok/kms-emulators';
import { expect } from '@jest/globals';
import { createAwsKmsProvider, parseAwsKeyRef, type AwsKeyRef } from '../src/index.js';

/** A customer-side admin client plus the provider under test, both aimed at one endpoint. */
export interface AwsTestEnv {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  admin: (region?: string) => KMSClient;
  provider: ReturnType<typeof createAwsKmsProvider>;
  createKey: (o?: { region?: string; multiRegion?: boolean }) => Promise<AwsKeyRef>;
  createAlias: (key: AwsKeyRef, name: string) => Promise<AwsKeyRef>;
  disable: (ref: AwsKeyRef) => Promise<void>;
  enable: (ref: AwsKeyRef) => Promise<void>;
  close: () => void;
}

/** Builds the env for an endpoint (emulator or moto) with explicit credentials: nothing reaches AWS. */
export function awsTestEnv(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  region = 'us-east-1',
): AwsTestEnv {
  const admins = new Map<string, KMSClient>();
  const admin = (r = region): KMSClient => {
    let c = admins.get(r);
    if (!c) {
      c = new KMSClient({ region: r, endpoint, credentials, maxAttempts: 1 });
      admins.set(r, c);
    }
    return c;
  };
  const asRef = (arn: string) => parseAwsKeyRef(arn);
  const provider = createAwsKmsProvider({ endpoint, credentials });
  return {
    endpoint,
    region,
    credentials,
    admin,
    provider,
    createKey: async (o = {}) => {
      const out = await admin(o.region).send(
        new CreateKeyCommand({ Description: 'byok test key', MultiRegion: o.multiRegion }),
      );
      return asRef(out.KeyMetadata?.Arn ?? '');
    },
    createAlias: async (key, name) => {
      await admin(key.region).send(
        new CreateAliasCommand({ AliasName: `alias/${name}`, TargetKeyId: key.uri }),
      );
      return asRef(`arn:aws:kms:${key.region}:${key.account}:alias/${name}`);
    },
    disable: async (ref) => {
      await admin(ref.region).send(new DisableKeyCommand({ KeyId: ref.uri }));
    },
    enable: async (ref) => {
      await admin(ref.region).send(new EnableKeyCommand({ KeyId: ref.uri }));
    },
    close: () => {
      for (const c of admins.values()) c.destroy();
      provider.destroy();
    },
  };
}

/** Starts the emulator and the env around it. */
export async function emulatorEnv(): Promise<{ emu: AwsKmsEmulator; env: AwsTestEnv }> {
  const emu = await startAwsKmsEmulator({ port: 0 });
  const [credentials] = emu.credentials;
  if (!credentials) throw new Error('emulator has no credentials');
  return { emu, env: awsTestEnv(emu.endpoint, credentials, emu.region) };
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Awaits a rejection and returns it as a KmsError with the expected code. */
export async function rejection(p: Promise<unknown>, code: string): Promise<KmsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect((err as KmsError | undefined)?.code).toBe(code);
  return err as KmsError;
}

/** Asserts that nothing about `err` shows `secret` in hex or base64. */
export function expectNoLeak(err: unknown, secret: Uint8Array): void {
  const e = err as Error;
  const text = `${e.message} ${JSON.stringify(e)} ${String(e.stack)}`;
  expect(text.includes(Buffer.from(secret).toString('hex'))).toBe(false);
  expect(text.includes(Buffer.from(secret).toString('base64'))).toBe(false);
}
