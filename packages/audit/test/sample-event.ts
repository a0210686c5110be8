import type { AuditEvent } from '../src/index.js';

/** A complete audit event of chain `acme` at second `seq` of 2026, for tests; `over` changes fields. */
export function sampleEvent(seq: number, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    chain: 'acme',
    seq,
    tenantId: 'acme',
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)),
    actorTokenId: 'tok_1',
    actorRole: 'service',
    action: 'data.decrypt',
    resource: `records/${seq}`,
    outcome: 'success',
    errorCode: null,
    purpose: 'billing',
    kmsProvider: null,
    kmsKeyRef: null,
    kmsRequestId: null,
    requestId: `req-${seq}`,
    clientRequestId: null,
    clientAddress: null,
    details: { keyVersion: 1 },
    ...over,
  };
}
