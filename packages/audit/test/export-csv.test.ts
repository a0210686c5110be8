import { CSV_COLUMNS, checkpointCsvRow, eventCsvRow, type ExportedEvent } from '../src/index.js';

// The CSV export is a published format: its columns are derived from the one audit column list, so
// these literals pin it against any reordering of that list.
describe('CSV export format v1', () => {
  const event: ExportedEvent = {
    type: 'event',
    chain: 'acme',
    seq: 7,
    at: '2026-01-02T03:04:05.006Z',
    tenantId: 'acme',
    actorTokenId: 'tok_1',
    actorRole: 'service',
    action: 'secret.reveal',
    resource: 'tenants/acme/secrets/a,b',
    outcome: 'success',
    errorCode: null,
    purpose: 'llm "x"',
    kmsProvider: 'local',
    kmsKeyRef: 'local:k',
    kmsRequestId: null,
    requestId: 'req-1',
    clientRequestId: 'client-7',
    clientAddress: '203.0.113.9',
    details: { secretVersion: 2 },
    prevHash: 'aa'.repeat(32),
    hash: 'bb'.repeat(32),
  };

  it('has the published header columns in order', () => {
    expect(CSV_COLUMNS.join(',')).toBe(
      'type,chain,seq,at,tenant_id,actor_token_id,actor_role,action,resource,outcome,error_code,purpose,' +
        'kms_provider,kms_key_ref,kms_request_id,request_id,client_request_id,client_address,details,prev_hash,hash,signature,key_id',
    );
  });

  it('writes an event row in header order, quoting commas and quotes, empty for null', () => {
    expect(eventCsvRow(event)).toBe(
      'event,acme,7,2026-01-02T03:04:05.006Z,acme,tok_1,service,secret.reveal,"tenants/acme/secrets/a,b",' +
        `success,,"llm ""x""",local,local:k,,req-1,client-7,203.0.113.9,"{""secretVersion"":2}",${'aa'.repeat(32)},${'bb'.repeat(32)},,\r\n`,
    );
  });

  it('writes a checkpoint row with the head hash in the hash column', () => {
    const row = checkpointCsvRow({
      chain: 'acme',
      seq: 7,
      headHash: 'cc'.repeat(32),
      at: '2026-01-02T03:04:05.006Z',
      signature: 'c2ln',
      keyId: 'abcd',
    });
    expect(row).toBe(
      `checkpoint,acme,7,2026-01-02T03:04:05.006Z${','.repeat(17)}${'cc'.repeat(32)},c2ln,abcd\r\n`,
    );
  });
});
