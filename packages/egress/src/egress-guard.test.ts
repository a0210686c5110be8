import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EgressGuard, EgressRefusedError } from './egress-guard.js';

describe('EgressGuard', () => {
  const guard = new EgressGuard({ resolver: async () => [] });

  it('refuses loopback, private, link-local, CGNAT, ULA, multicast and unspecified addresses', () => {
    for (const ip of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
    ]) {
      expect([ip, guard.isAllowedAddress(ip)]).toEqual([ip, false]);
    }
    expect(guard.isAllowedAddress('93.184.216.34')).toBe(true);
    expect(guard.isAllowedAddress('2606:4700::1111')).toBe(true);
  });

  it('allows a refused range only inside an operator CIDR', () => {
    const g = new EgressGuard({ allowCidrs: ['127.0.0.0/8'] });
    expect(g.isAllowedAddress('127.0.0.1')).toBe(true);
    expect(g.isAllowedAddress('::1')).toBe(false);
    expect(g.isAllowedAddress('10.0.0.1')).toBe(false);
  });

  it('refuses a name when any of its addresses is refused (no mixed answers)', async () => {
    const g = new EgressGuard({
      resolver: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    });
    await expect(g.resolve('mixed.test')).rejects.toBeInstanceOf(EgressRefusedError);
  });

  it('checks localhost names and literal addresses without DNS', () => {
    expect(guard.isAllowedLiteralHost('localhost')).toBe(false);
    expect(guard.isAllowedLiteralHost('a.localhost')).toBe(false);
    expect(guard.isAllowedLiteralHost('[::1]')).toBe(false);
    expect(guard.isAllowedLiteralHost('siem.example.com')).toBe(true);
  });
});

describe('EgressGuard.request', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200);
        res.end(Buffer.alloc(256 * 1024, 7));
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: '/ok' }).end();
      } else res.writeHead(200, { 'x-seen-host': req.headers.host ?? '' }).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('connects to the address it resolved a name to, once, and returns status, headers and body', async () => {
    let lookups = 0;
    const g = new EgressGuard({
      allowCidrs: ['127.0.0.0/8'],
      resolver: async () => {
        lookups += 1;
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const r = await g.request(`http://pinned.test:${port}/ok`, {
      method: 'GET',
      timeoutMs: 5000,
      maxBodyBytes: 1024,
    });
    expect([r.status, r.body.toString(), r.headers['x-seen-host']]).toEqual([
      200,
      'ok',
      `pinned.test:${port}`,
    ]);
    expect(lookups).toBe(1);
  });

  it('refuses a name resolving to loopback without an allowance, before connecting', async () => {
    const g = new EgressGuard({ resolver: async () => [{ address: '127.0.0.1', family: 4 }] });
    await expect(
      g.request(`http://pinned.test:${port}/ok`, { method: 'GET', timeoutMs: 5000, maxBodyBytes: 1024 }),
    ).rejects.toBeInstanceOf(EgressRefusedError);
  });

  it('caps the body and follows no redirect', async () => {
    const g = new EgressGuard({ allowCidrs: ['127.0.0.0/8'] });
    const big = await g.request(`http://127.0.0.1:${port}/big`, {
      method: 'GET',
      timeoutMs: 5000,
      maxBodyBytes: 1000,
    });
    expect([big.body.length, big.truncated]).toEqual([1000, true]);
    const redirect = await g.request(`http://127.0.0.1:${port}/redirect`, {
      method: 'GET',
      timeoutMs: 5000,
      maxBodyBytes: 1000,
    });
    expect(redirect.status).toBe(302);
  });
});
