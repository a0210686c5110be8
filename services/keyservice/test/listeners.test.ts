import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import express from 'express';
import { createTestCa, type TestCa } from '../../../test/support/test-ca.js';
import { loadConfig } from '../src/config.js';
import { openListeners, type Listeners } from '../src/http/listeners.js';
import { createLogger } from '../src/logger.js';

/** The SHA-256 fingerprint of the certificate a fresh connection to `url` is shown. */
function fingerprintAt(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`${url}/`, { ca, agent: false }, (res) => {
      resolve((res.socket as TLSSocket).getPeerCertificate().fingerprint256);
      res.resume();
    }).on('error', reject);
  });
}

describe('openListeners (real servers, test CA)', () => {
  let dir: string;
  let ca: TestCa;
  const app = express().get('/', (_req, res) => {
    res.json({ ok: true });
  });
  const logger = createLogger('silent');
  const opened: Listeners[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'byok-listeners-'));
    ca = createTestCa(dir, 'listeners');
  });
  afterAll(async () => {
    await Promise.all(opened.map((l) => l.close(0)));
    await rm(dir, { recursive: true, force: true });
  });

  it('opens no metrics listener with METRICS_PORT=off', async () => {
    const config = loadConfig({ BYOK_MODE: 'development', PORT: '0', METRICS_PORT: 'off' });
    const l = await openListeners(config, { app, metricsApp: app }, logger);
    opened.push(l);
    expect(l.metrics).toBeUndefined();
    expect(l.tls).toBe(false);
    expect((await fetch(`${l.api.url}/`)).status).toBe(200);
  });

  it('keeps serving the current certificate when a reload finds a key that does not match it', async () => {
    const one = ca.issue('one', 'server');
    const two = ca.issue('two', 'server');
    const config = loadConfig({
      BYOK_MODE: 'development',
      PORT: '0',
      METRICS_PORT: '0',
      TLS_CERT_FILE: one.certFile,
      TLS_KEY_FILE: one.keyFile,
    });
    const l = await openListeners(config, { app, metricsApp: app }, logger);
    opened.push(l);
    expect(l.api.url).toMatch(/^https:/);
    const before = await fingerprintAt(l.api.url, ca.cert);
    // The certificate file now holds `two` while the key file still holds `one`'s key.
    await copyFile(two.certFile, one.certFile);
    await expect(l.reloadTls()).rejects.toThrow();
    expect(await fingerprintAt(l.api.url, ca.cert)).toBe(before);
    // With the matching key in place, the reload takes effect.
    await copyFile(two.keyFile, one.keyFile);
    await l.reloadTls();
    expect(await fingerprintAt(l.api.url, ca.cert)).not.toBe(before);
  });
  it('cuts off a slowloris client (headers one byte per second) at the header timeout, within 1 s', async () => {
    const config = loadConfig({
      BYOK_MODE: 'development',
      PORT: '0',
      METRICS_PORT: 'off',
      HTTP_HEADERS_TIMEOUT_MS: '2000',
    });
    const l = await openListeners(config, { app, metricsApp: app }, logger);
    opened.push(l);
    const { port } = new URL(l.api.url);
    const socket = connect(Number(port), '127.0.0.1');
    const started = Date.now();
    const request = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100);
    socket.write(request.charAt(0));
    let sent = 1;
    const drip = setInterval(() => {
      if (!socket.destroyed && sent < request.length) socket.write(request.charAt(sent++));
    }, 1000);
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    const closedAfter = await new Promise<number>((resolve) => {
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(Date.now() - started));
    });
    clearInterval(drip);
    // Cut off by the server, not by running out of bytes: fewer than 5 of ~130 bytes were sent.
    expect(sent).toBeLessThan(5);
    expect(closedAfter).toBeGreaterThanOrEqual(1900);
    expect(closedAfter).toBeLessThan(3000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});
