import { describe, expect, it } from '@jest/globals';
import { AuditInputError, type AuditAction } from '@byok/audit';
import { AuditRecorder, type AppendedAuditEvent } from '../src/domain/audit/audit-recorder.js';
import { createMetrics } from '../src/metrics.js';

/** An in-memory appender: what the recorder hands to the audit writer. */
function recorder(): { events: AppendedAuditEvent[]; audit: AuditRecorder } {
  const events: AppendedAuditEvent[] = [];
  const audit = new AuditRecorder({ record: async (e) => events.push(e) }, createMetrics());
  return { events, audit };
}

describe('AuditRecorder', () => {
  it('adds the actor and request id, and drops an empty tenant', async () => {
    const { events, audit } = recorder();
    await audit.record(
      {
        principal: { tokenId: 'tok_1', role: 'service', tenantId: 'acme' },
        requestId: 'req-1',
      },
      { tenantId: 'acme', action: 'secret.put', outcome: 'success', details: { secretVersion: 3 } },
    );
    await audit.record({}, { tenantId: null, action: 'tenant.create', outcome: 'success' });
    expect(events).toEqual([
      {
        tenantId: 'acme',
        action: 'secret.put',
        outcome: 'success',
        details: { secretVersion: 3 },
        actorTokenId: 'tok_1',
        actorRole: 'service',
        requestId: 'req-1',
      },
      { action: 'tenant.create', outcome: 'success' },
    ]);
  });

  it('refuses an action outside the catalogue before anything is written', async () => {
    const { events, audit } = recorder();
    const action = 'secret.peek' as AuditAction;
    await expect(audit.record({}, { action, outcome: 'success' })).rejects.toBeInstanceOf(AuditInputError);
    expect(events).toEqual([]);
  });

  it('refuses a detail key the action does not allow before anything is written', async () => {
    const { events, audit } = recorder();
    const details = { keyVersion: 2 } as unknown as { secretVersion: number };
    await expect(
      audit.record({}, { tenantId: 'acme', action: 'secret.reveal', outcome: 'success', details }),
    ).rejects.toThrow(/details\.keyVersion/);
    expect(events).toEqual([]);
  });
});
