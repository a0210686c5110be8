import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { startServiceProcess, tempDir, type ServiceProcess } from './service-process.js';

/** Several service processes on one PostgreSQL, as behind a load balancer. */
export interface Cluster {
  instances: ServiceProcess[];
  db: TestDatabase;
  adminToken: string;
  /** SIGKILLs instance `i` (the program itself, then its tsx wrapper) and waits until it is gone. */
  crash(i: number): Promise<void>;
  /** Starts instance `i` again with the same environment (on a new port) and puts it in `instances`. */
  restart(i: number): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/** Options for {@link startCluster}. */
export interface ClusterOptions {
  /** The URL the instances get instead of the database's own (e.g. through a fault proxy). */
  routeDatabaseUrl?: (directUrl: string) => Promise<string>;
}

/**
 * Starts `n` key service processes on different ports against one fresh PostgreSQL database
 * (a real server is required: the embedded database serves one process) with the same `env`.
 */
export async function startCluster(
  n: number,
  env: Record<string, string>,
  opts: ClusterOptions = {},
): Promise<Cluster> {
  const db = await createTestDatabase({ require: 'postgres' });
  const dir = await tempDir('byok-cluster-');
  const adminToken = 'byok_cluster_admin_token_0123456789abcdef';
  const common = {
    DATABASE_URL: opts.routeDatabaseUrl ? await opts.routeDatabaseUrl(db.databaseUrl) : db.databaseUrl,
    DATA_DIR: dir.path,
    BOOTSTRAP_ADMIN_TOKEN: adminToken,
    ...env,
  };
  // The first start runs the migrations; the others then start side by side. A failed start
  // stops the ones that did start: no child outlives a failed beforeAll.
  const first = await startServiceProcess({ ...common, INSTANCE_ID: 'ks-1' });
  const rest = await Promise.allSettled(
    Array.from({ length: n - 1 }, (_, i) => startServiceProcess({ ...common, INSTANCE_ID: `ks-${i + 2}` })),
  );
  const failed = rest.find((r) => r.status === 'rejected');
  if (failed) {
    const started = [first, ...rest.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
    await Promise.all(started.map((i) => i.stop().catch(() => undefined)));
    throw failed.reason;
  }
  const instances = [first, ...rest.map((r) => (r as PromiseFulfilledResult<ServiceProcess>).value)];
  return {
    instances,
    db,
    adminToken,
    async crash(i) {
      const inst = instances[i];
      if (!inst) throw new RangeError(`no instance ${i}`);
      // tsx runs the service as its own child: a SIGKILL to the wrapper alone would orphan it.
      if (inst.pid !== undefined) {
        try {
          process.kill(inst.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await inst.kill();
    },
    async restart(i) {
      const next = await startServiceProcess({ ...common, INSTANCE_ID: `ks-${i + 1}` });
      instances[i] = next;
      return next;
    },
    async stop() {
      await Promise.all(instances.map((i) => i.stop().catch(() => undefined)));
      await db.drop();
      await dir.remove();
    },
  };
}
