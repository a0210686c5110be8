import { crc32c } from '@aws-crypto/crc32c';

/** CRC32C (Castagnoli) of `data` as an unsigned 32-bit number; crc32c("123456789") = 0xE3069283. */
export function crc32cOf(data: Uint8Array): number {
  return crc32c(data) >>> 0;
}

/**
 * Reads an int64 the SDK hands back in any of its shapes: a number, a decimal string (proto3
 * JSON, REST), a Long (gRPC/protobufjs), a bigint, or a `{ value }` Int64Value wrapper of those.
 * Returns undefined when absent or unreadable, so a missing checksum fails the comparison.
 */
export function int64ToNumber(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= 0n ? Number(v) : undefined;
  if (typeof v === 'string') return /^\d{1,16}$/.test(v) ? int64ToNumber(Number(v)) : undefined;
  if (typeof v === 'object') {
    const o = v as { value?: unknown; toNumber?: () => number; low?: unknown; high?: unknown };
    if ('value' in o) return int64ToNumber(o.value);
    if (typeof o.toNumber === 'function') return int64ToNumber(o.toNumber());
    if (typeof o.low === 'number' && typeof o.high === 'number') {
      return int64ToNumber(o.high * 2 ** 32 + (o.low >>> 0));
    }
  }
  return undefined;
}

/** True when `expected` (as the SDK returned it) equals the CRC32C of `data`. */
export function crc32cMatches(data: Uint8Array, expected: unknown): boolean {
  const n = int64ToNumber(expected);
  return n !== undefined && n === crc32cOf(data);
}
