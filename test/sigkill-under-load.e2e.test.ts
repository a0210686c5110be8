import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAwsKmsEmulator, type AwsKmsEmulator } from '@byok/kms-emulators';
import { startCluster, type Cluster } from './support/cluster.js';
import { awsKmsServiceEnv } from './support/emulators.js';
import { api } from './support/service-process.js';
import {
  auditActionOf,
  auditedRequestIds,
  lostWrites,
  secretValue,
  startMixedLoad,
} from './support/traffic.js';

const T = 'crashy';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Issue 16.3: SIGKILL under load. Secrets are written and records encrypted (and read) on three
// instances; one instance is killed, the other two carry on, then they are killed too, and all
// three start again (one restart for all: a process start is the slow part on a busy machine). Every write the client
// saw acknowledged reads back afterwards, and the audit chain verifies end to end with no gap.
describe('SIGKILL of one, then the rest, of 3 instances under write load', () => {
  let emu: AwsKmsEmulator;
  let cluster: Cluster;
  let svc: string;
  const records: { ciphertext: string; plaintext: string; row: string }[] = [];
  const secrets: { name: string; value: string }[] = [];

  beforeAll(async () => {
    emu = await startAwsKmsEmulator();
    cluster = await startCluster(3, {
      ...awsKmsServiceEnv(emu),
    });
    const u = cluster.instances[0]!.url;
    const admin = cluster.adminToken;
    expect((await api(u, 'POST', '/v1/tenants', admin, { id: T, name: 'Crashy' })).status).toBe(201);
    const ta = (await api(u, 'POST', '/v1/tokens', admin, { name: 'ta', role: 'tenant-admin', tenantId: T }))
      .body.token as string;
    const keyRef = emu.admin.createKey().arn;
    expect((await api(u, 'PUT', `/v1/tenants/${T}/cmk`, ta, { provider: 'aws-kms', keyRef })).status).toBe(
      200,
    );
    svc = (await api(u, 'POST', '/v1/tokens', admin, { name: 'svc', role: 'service', tenantId: T })).body
      .token;
    for (let i = 0; i < 4; i++) {
      const plaintext = Buffer.from(`seed ${i}`).toString('base64');
      const enc = await api(u, 'POST', `/v1/tenants/${T}/encrypt`, svc, {
        plaintext,
        context: { row: `s${i}` },
      });
      records.push({ ciphertext: enc.body.ciphertext, plaintext, row: `s${i}` });
      const name = `seed-${i}`;
      expect(
        (
          await api(u, 'PUT', `/v1/tenants/${T}/secrets/${name}`, svc, {
            kind: 'openai',
            value: secretValue(name),
          })
        ).status,
      ).toBe(201);
      secrets.push({ name, value: secretValue(name) });
    }
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    await emu?.close();
  }, 60_000);

  it('every 2xx-acknowledged write reads back after the restarts, every success is audited, and the chain verifies with no gap', async () => {
    // Killed instances leave a hole the workers skip; the load keeps going on the others.
    const alive = [true, true, true];
    const load = startMixedLoad({
      targets: () => cluster.instances.map((i, k) => (alive[k] ? i.url : undefined)),
      tenant: T,
      token: svc,
      connections: 30,
      records,
      secrets,
      ops: ['put', 'encrypt', 'put', 'reveal', 'decrypt'],
    });
    const timeline: string[] = [];
    const began = Date.now();
    const mark = (what: string) =>
      timeline.push(
        `${what} at ${Date.now() - began} ms (${load.samples.length} requests, ${load.acks.length} acks)`,
      );
    /** Waits until `n` more writes were acknowledged (the kills must land in the middle of writing). */
    const moreAcks = async (n: number) => {
      const target = load.acks.length + n;
      for (let i = 0; i < 600 && load.acks.length < target; i++) await sleep(50);
      expect(load.acks.length).toBeGreaterThanOrEqual(target);
    };
    try {
      await moreAcks(40);
      alive[1] = false;
      await cluster.crash(1);
      mark('instance 2 killed');
      // The other two carry on alone, then die together.
      await moreAcks(40);
      alive[0] = false;
      alive[2] = false;
      await Promise.all([cluster.crash(0), cluster.crash(2)]);
      mark('instances 1 and 3 killed');
    } finally {
      await load.stop();
    }
    await Promise.all([0, 1, 2].map((k) => cluster.restart(k)));
    const urls = cluster.instances.map((i) => i.url);
    mark('all back');

    const acked = load.acks;
    const puts = acked.filter((a) => a.kind === 'secret').length;
    expect(puts).toBeGreaterThan(30);
    // Requests cut off by a kill got no answer (status 0); none got a 500.
    expect(load.samples.filter((s) => s.status >= 500 && s.status !== 503)).toEqual([]);
    // Every acknowledged write reads back, through an instance other than the one that took it.
    const lost = await lostWrites(urls[2]!, T, svc, acked);
    mark('read back');
    expect(lost).toEqual([]);
    // Every success the client saw (put, reveal, decrypt) has its audit row.
    const audited = await auditedRequestIds(cluster.db.databaseUrl, T, [
      'decrypt',
      'secret.reveal',
      'secret.put',
    ]);
    const unaudited = load.samples.filter(
      (s) => s.status >= 200 && s.status < 300 && auditActionOf(s.op) && !audited.has(s.requestId ?? ''),
    );
    expect(unaudited).toEqual([]);
    expect(load.samples.filter((s) => s.wrong)).toEqual([]);
    // The chain, read in full, has no gap, fork or broken link.
    const verify = await api(urls[0]!, 'GET', `/v1/audit/verify?tenantId=${T}&full=true`, cluster.adminToken);
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.checked).toBeGreaterThan(puts);
    const cut = load.samples.filter((s) => s.status === 0).length;
    process.stderr.write(
      `[sigkill] ${timeline.join('; ')}; ${load.samples.length} requests, ${cut} cut off by a kill, ` +
        `${acked.length} acknowledged writes, 0 lost; audit chain ${verify.body.checked} events verified\n`,
    );
  }, 180_000);
});
