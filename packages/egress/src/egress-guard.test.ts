import { describe, expect, it } from '@jest/globals';
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
