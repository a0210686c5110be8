import { describe, expect, it } from '@jest/globals';
import { AUDIT_TENANT_ID_PATTERN } from '@byok/audit';
import {
  CONTEXT_KEY_PATTERN as CONTRACT_CONTEXT_KEY,
  PROVIDER_NAME_PATTERN as CONTRACT_PROVIDER_NAME,
  TENANT_ID_PATTERN,
} from '@byok/contract';
import { CONTEXT_KEY_PATTERN } from '@byok/envelope';
import { PROVIDER_NAME_PATTERN } from '@byok/kms';

// Three patterns are written in two packages each, because neither package may depend on the other
// (the contract is shared with clients; audit and kms sit below it). These tests keep them one.
describe('patterns stated in two packages', () => {
  it('gives the audit log the same tenant-id pattern as the API', () => {
    expect(AUDIT_TENANT_ID_PATTERN.source).toBe(TENANT_ID_PATTERN.source);
    expect(AUDIT_TENANT_ID_PATTERN.flags).toBe(TENANT_ID_PATTERN.flags);
  });

  it('gives the API the same provider-name pattern as the KMS module registry', () => {
    expect(CONTRACT_PROVIDER_NAME.source).toBe(PROVIDER_NAME_PATTERN.source);
    expect(CONTRACT_PROVIDER_NAME.flags).toBe(PROVIDER_NAME_PATTERN.flags);
  });

  it('gives the API the same context-key pattern as the envelope binds on seal', () => {
    expect(CONTRACT_CONTEXT_KEY.source).toBe(CONTEXT_KEY_PATTERN.source);
    expect(CONTRACT_CONTEXT_KEY.flags).toBe(CONTEXT_KEY_PATTERN.flags);
  });
});
