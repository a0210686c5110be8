import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EgressGuard } from '@byok/egress';
import { KmsError } from '@byok/kms';
import { createAzureKeyVaultProvider, egressHttpClient, parseAzureKeyRef } from '../src/index.js';
import { startAzureTestBed, uniqueName, type AzureTestBed } from './azure-test-harness.js';

const ctx = { tenant: 't-egress', purpose: 'tenant-key', version: '1' };

describe('azure-kv through the egress guard (official SDK, emulator on 127.0.0.1)', () => {
  let bed: AzureTestBed;
  beforeAll(async () => {
    bed = await startAzureTestBed();
  });
  afterAll(async () => {
    await bed.close();
  });

  const providerWith = (guard: EgressGuard) =>
    createAzureKeyVaultProvider({
      credential: bed.credential,
      disableChallengeResourceVerification: true,
      httpClient: egressHttpClient(guard, { tlsCa: bed.emu.caPem }),
    });

  it('wraps and unwraps with every Key Vault request sent by the guard when 127.0.0.0/8 is allowed', async () => {
    const name = uniqueName('egress-ok');
    bed.emu.createKey({ name, kty: 'RSA' });
    const p = providerWith(new EgressGuard({ allowCidrs: ['127.0.0.0/8'] }));
    const key = randomBytes(32);
    const w = await p.wrap(bed.ref(name), key, ctx);
    const u = await p.unwrap(bed.ref(name), w.wrapped, ctx);
    expect(Buffer.from(u.plaintext).equals(key)).toBe(true);
  });

  it('sends nothing to the vault when the guard refuses its address (KMS_UNAVAILABLE, no request)', async () => {
    const name = uniqueName('egress-refused');
    bed.emu.createKey({ name, kty: 'RSA' });
    const keyCallsBefore = bed.emu.requests().filter((r) => r.path.startsWith('/keys/')).length;
    const p = providerWith(new EgressGuard());
    const err = await p.wrap(bed.ref(name), randomBytes(32), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KmsError);
    expect((err as KmsError).code).toBe('KMS_UNAVAILABLE');
    expect((err as KmsError).message).toContain('EGRESS_REFUSED');
    expect(bed.emu.requests().filter((r) => r.path.startsWith('/keys/')).length).toBe(keyCallsBefore);
  });

  it('gives up at the deadline on a vault that accepts the connection and never answers', async () => {
    const sockets: Socket[] = [];
    const hang = createServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const port = (hang.address() as AddressInfo).port;
    try {
      const p = createAzureKeyVaultProvider({
        credential: bed.credential,
        disableChallengeResourceVerification: true,
        algorithmFor: () => 'RSA-OAEP-256',
        timeoutMs: 300,
        httpClient: egressHttpClient(new EgressGuard({ allowCidrs: ['127.0.0.0/8'] }), {
          tlsCa: bed.emu.caPem,
        }),
      });
      const started = Date.now();
      const err = await p
        .wrap(parseAzureKeyRef(`https://127.0.0.1:${port}/keys/hang`), randomBytes(32), ctx)
        .catch((e: unknown) => e);
      expect((err as KmsError).code).toBe('KMS_UNAVAILABLE');
      expect(sockets.length).toBeGreaterThan(0);
      // The deadline is 300 ms; 5 s is the margin for a loaded machine, far below "hangs".
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => hang.close(r));
    }
  });

  it('refuses a Key Vault answer larger than the body cap instead of handing the SDK a cut body', async () => {
    const name = uniqueName('egress-cap');
    bed.emu.createKey({ name, kty: 'RSA' });
    const p = createAzureKeyVaultProvider({
      credential: bed.credential,
      disableChallengeResourceVerification: true,
      httpClient: egressHttpClient(new EgressGuard({ allowCidrs: ['127.0.0.0/8'] }), {
        tlsCa: bed.emu.caPem,
        maxBodyBytes: 16,
      }),
    });
    const err = await p.wrap(bed.ref(name), randomBytes(32), ctx).catch((e: unknown) => e);
    expect((err as KmsError).code).toBe('KMS_UNAVAILABLE');
    expect((err as KmsError).message).toContain('EGRESS_BODY_TOO_LARGE');
  });
});
