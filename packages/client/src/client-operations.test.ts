import { describe, expect, it } from '@jest/globals';
import { apiContract, operationsOf } from '@byok/contract';
import { ByokClient } from './byok-client.js';
import { CLIENT_OPERATIONS } from './client-operations.js';

describe('the client covers the contract', () => {
  it('has a method for every operation the contract does not exclude from it, and none for the rest', () => {
    const called = new Set<string>(Object.values(CLIENT_OPERATIONS));
    const expected = operationsOf(apiContract)
      .filter((op) => op.clientExclusion === undefined)
      .map((op) => op.id)
      .sort();
    expect([...called].sort()).toEqual(expected);
    for (const op of operationsOf(apiContract).filter((o) => o.clientExclusion !== undefined))
      expect(op.clientExclusion?.length).toBeGreaterThan(10);
  });

  it('names a real method of ByokClient for each operation', () => {
    for (const method of Object.keys(CLIENT_OPERATIONS))
      expect(typeof (ByokClient.prototype as unknown as Record<string, unknown>)[method]).toBe('function');
  });
});
