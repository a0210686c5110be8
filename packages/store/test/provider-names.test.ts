import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPool, migrate, tenantRepository, type Store } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

// Provider names come from the service's module registry: the schema must accept a name it has
// never heard of (a new provider package needs no migration).
describe('tenant_cmk.provider after 0007_provider_names', () => {
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = await createPool({ databaseUrl: db.databaseUrl, max: 1 });
    await migrate(store.pool);
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('stores a provider name that no migration lists', async () => {
    await tenantRepository.create(store.pool, { id: 'hsm-tenant', name: 'HSM tenant' });
    const row = await tenantRepository.upsertCmk(store.pool, {
      tenantId: 'hsm-tenant',
      provider: 'pkcs11',
      keyRef: 'pkcs11:token=byok;object=tenant-cmk',
    });
    expect(row.provider).toBe('pkcs11');
  });
});
