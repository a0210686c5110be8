import { describe, expect, it } from '@jest/globals';
import { StoreError } from '@byok/store';
import { toAppError } from './errors.js';

describe('toAppError: a database outage is a 503 with a stable code, never a 500', () => {
  it.each([
    ['a socket closed under a query (pg)', new Error('Connection terminated unexpectedly')],
    ['a pool checkout that timed out (pg-pool)', new Error('timeout exceeded when trying to connect')],
    ['a connect that timed out (pg)', new Error('Connection terminated due to connection timeout')],
    ['a reset socket', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a refused connect', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    [
      'the server shutting down (57P01)',
      Object.assign(new Error('terminating connection'), { code: '57P01' }),
    ],
    [
      'the server starting up (57P03)',
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    ],
    ['a StoreError UNAVAILABLE', new StoreError('UNAVAILABLE', 'database unavailable')],
  ])('%s', (_what, err) => {
    const mapped = toAppError(err);
    expect(mapped.code).toBe('STORE_UNAVAILABLE');
    expect(mapped.status).toBe(503);
  });

  it("text the database cannot store (NUL) is the caller's fault: 400 MALFORMED_REQUEST", () => {
    const pg = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });
    expect(toAppError(pg).code).toBe('MALFORMED_REQUEST');
    expect(toAppError(pg).status).toBe(400);
    expect(toAppError(new StoreError('INTERNAL', 'x', { sqlState: '22P05' })).code).toBe('MALFORMED_REQUEST');
  });

  it('anything else stays INTERNAL', () => {
    expect(toAppError(new Error('boom')).code).toBe('INTERNAL');
    expect(toAppError(new StoreError('INTERNAL', 'syntax error')).code).toBe('INTERNAL');
  });
});
