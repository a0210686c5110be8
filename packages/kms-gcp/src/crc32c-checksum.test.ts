import { describe, expect, it } from '@jest/globals';
import { crc32cMatches, crc32cOf, int64ToNumber } from './crc32c-checksum.js';

describe('crc32c', () => {
  it('matches the CRC32C check value for "123456789"', () => {
    expect(crc32cOf(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('is 0 for no data and unsigned for every input', () => {
    expect(crc32cOf(new Uint8Array(0))).toBe(0);
    expect(crc32cOf(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toBeGreaterThan(0);
  });
});

describe('int64ToNumber', () => {
  const n = 0xe3069283;
  it.each([
    ['a number', n],
    ['a decimal string (REST)', String(n)],
    ['a bigint', BigInt(n)],
    ['a Long with toNumber (gRPC)', { low: n | 0, high: 0, toNumber: () => n }],
    ['a Long-like low/high pair', { low: n | 0, high: 0 }],
    ['an Int64Value wrapper', { value: String(n) }],
    ['a wrapped Long', { value: { low: n | 0, high: 0, toNumber: () => n } }],
  ])('reads %s', (_label, v) => {
    expect(int64ToNumber(v)).toBe(n);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an empty wrapper', { value: null }],
    ['a non-numeric string', '12x'],
    ['a negative string', '-1'],
    ['a fraction', 1.5],
    ['a boolean', true],
  ])('returns undefined for %s', (_label, v) => {
    expect(int64ToNumber(v)).toBeUndefined();
  });

  it('compares only when the checksum is present and equal', () => {
    const data = Buffer.from('123456789');
    expect(crc32cMatches(data, { value: '3808858755' })).toBe(true);
    expect(crc32cMatches(data, { value: '3808858754' })).toBe(false);
    expect(crc32cMatches(data, undefined)).toBe(false);
  });
});
