import { createPool, migrate, type Store } from '@byok/store';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';

/** A migrated throw-away PostgreSQL database plus a pool on it. */
export interface AuditTestDb {
  db: TestDatabase;
  store: Store;
  close(): Promise<void>;
}

/** Creates and migrates a fresh database on the real PostgreSQL server. */
export async function openAuditTestDb(max = 10): Promise<AuditTestDb> {
  const db = await createTestDatabase({ require: 'postgres' });
  const store = await createPool({ databaseUrl: db.databaseUrl, max });
  await migrate(store.pool);
  return {
    db,
    store,
    async close() {
      await store.close();
      await db.drop();
    },
  };
}
