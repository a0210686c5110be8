-- Background jobs (tenant-key re-encryption first). A job row is its own durable progress record:
-- the keyset cursor, counters and lease change in the same transaction as each batch's data, so a
-- crash at any point resumes exactly after the last committed batch.

CREATE TABLE jobs (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants (id),
  kind           text NOT NULL CHECK (kind IN ('tenant-key.reencrypt')),
  state          text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled')),
  target_version integer NOT NULL CHECK (target_version >= 1),
  -- Keyset cursor over secret_versions' primary key: (name, version) of the last row handled.
  cursor_name    text,
  cursor_version integer,
  pass           integer NOT NULL DEFAULT 1,
  done           bigint NOT NULL DEFAULT 0 CHECK (done >= 0),
  total          bigint NOT NULL DEFAULT 0 CHECK (total >= 0),
  errors         bigint NOT NULL DEFAULT 0 CHECK (errors >= 0),
  last_error     text,
  failures       integer NOT NULL DEFAULT 0,
  -- Lease: only the owner may write progress, and only while lease_until is in the future.
  lease_owner    text,
  lease_until    timestamptz,
  run_after      timestamptz NOT NULL DEFAULT now(),
  started_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz
);

CREATE INDEX jobs_runnable ON jobs (run_after) WHERE state IN ('pending', 'running', 'paused');
-- At most one unfinished job of a kind per tenant; a newer rotation cancels the older job.
CREATE UNIQUE INDEX jobs_one_open_per_tenant ON jobs (tenant_id, kind)
  WHERE state IN ('pending', 'running', 'paused');
-- The job's scan and the retire check look rows up by key version.
CREATE INDEX secret_versions_tk_version ON secret_versions (tenant_id, tk_version);
