import { afterEach, describe, expect, it } from '@jest/globals';
import { envelopeBackend, useEnvelopeBackend } from '@byok/envelope';
import { ConfigError, loadConfig } from '../src/config.js';
import { b64 } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';
import { nativeBackend } from '../../../packages/envelope/test/backends.js';

describe('ENVELOPE_BACKEND: node:crypto by default, the native addon only when asked', () => {
  let s: TestService | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
    useEnvelopeBackend('node');
  });

  it('defaults to node and accepts only node or native', () => {
    expect(loadConfig({ BYOK_MODE: 'development' }).envelopeBackend).toBe('node');
    expect(loadConfig({ BYOK_MODE: 'development', ENVELOPE_BACKEND: 'native' }).envelopeBackend).toBe(
      'native',
    );
    expect(() => loadConfig({ BYOK_MODE: 'development', ENVELOPE_BACKEND: 'openssl' })).toThrow(ConfigError);
  });

  it('runs a service started without the setting on node:crypto', async () => {
    s = await startTestService();
    expect(envelopeBackend()).toEqual({ name: 'node' });
  });

  if (nativeBackend === undefined) {
    it('refuses to start with ENVELOPE_BACKEND=native when the addon is not built', async () => {
      await expect(startTestService({ env: { ENVELOPE_BACKEND: 'native' } })).rejects.toThrow(
        /native envelope backend unavailable/,
      );
    });
  } else {
    it('runs on the addon with ENVELOPE_BACKEND=native, and what it seals opens on node:crypto', async () => {
      s = await startTestService({ env: { ENVELOPE_BACKEND: 'native' } });
      expect(envelopeBackend().name).toBe('native');
      const t = await s.tenant('envnative');
      const enc = await s.call('POST', '/v1/tenants/envnative/encrypt', {
        token: t.service,
        body: { plaintext: b64('sealed natively'), context: { row: '1' } },
      });
      expect(enc.status).toBe(200);
      useEnvelopeBackend('node');
      const dec = await s.call('POST', '/v1/tenants/envnative/decrypt', {
        token: t.service,
        body: { ciphertext: enc.body.ciphertext, context: { row: '1' } },
      });
      expect(dec.body).toEqual({ plaintext: b64('sealed natively') });
    });
  }
});
