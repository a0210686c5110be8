import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { startServiceProcess, tempDir, type ServiceProcess } from './service-process.js';

/** Several service processes on one PostgreSQL, as behind a load balancer. */
export interface Cluster {
  instances: ServiceProcess[];
  db: TestDatabase;
  adminToken: string;
  stop(): Promise<void>;
}

/**
 * Starts `n` key service processes on different ports against one fresh PostgreSQL database
 * (a real server is required: the embedded database serves one process) with the same `env`.
 */
export async function startCluster(n: number, env: Record<string, string>): Promise<Cluster> {
  const db = await createTestDatabase({ require: 'postgres' });
  const dir = await tempDir('byok-cluster-');
  const adminToken = 'byok_cluster_admin_token_0123456789abcdef';
  const common = {
    DATABASE_URL: db.databaseUrl,
    DATA_DIR: dir.path,
    BOOTSTRAP_ADMIN_TOKEN: adminToken,
    ...env,
  };
  // The first start runs the migrations; the others then start side by side.
  const first = await startServiceProcess({ ...common, INSTANCE_ID: 'ks-1' });
  const rest = await Promise.all(
    Array.from({ length: n - 1 }, (_, i) => startServiceProcess({ ...common, INSTANCE_ID: `ks-${i + 2}` })),
  );
  const instances = [first, ...rest];
  return {
    instances,
    db,
    adminToken,
    async stop() {
      await Promise.all(instances.map((i) => i.stop().catch(() => undefined)));
      await db.drop();
      await dir.remove();
    },
  };
}
