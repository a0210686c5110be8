-- Audit for security teams (issue 6): SIEM sinks and lookup indexes.
--
-- Delivery to a sink is driven by a per-sink cursor (`last_delivered_seq`) over the tenant's own
-- chain in audit_events. The event row is already committed before any plaintext leaves, so it IS
-- the durable outbox: no second insert on the request path, nothing lost while a sink is down, and
-- chain + seq give receivers an exact de-duplication key (delivery is at-least-once).

CREATE TABLE audit_sinks (
  id                 text PRIMARY KEY,
  tenant_id          text NOT NULL REFERENCES tenants (id),
  url                text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
  -- HMAC secret sealed (envelope v1) under a key derived from the audit signing key; see README.
  secret_sealed      bytea NOT NULL,
  batch_size         integer NOT NULL DEFAULT 100 CHECK (batch_size BETWEEN 1 AND 1000),
  enabled            boolean NOT NULL DEFAULT true,
  last_delivered_seq bigint NOT NULL DEFAULT 0 CHECK (last_delivered_seq >= 0),
  attempts           integer NOT NULL DEFAULT 0,
  last_error         text,
  last_attempt_at    timestamptz,
  last_success_at    timestamptz,
  next_attempt_at    timestamptz NOT NULL DEFAULT now(),
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_sinks_due ON audit_sinks (next_attempt_at) WHERE enabled;
CREATE INDEX audit_sinks_tenant ON audit_sinks (tenant_id);

-- Filters security teams use most: per chain by action (kms-calls reconciliation) and by resource.
CREATE INDEX audit_events_chain_action ON audit_events (chain, action, seq);
CREATE INDEX audit_events_chain_resource ON audit_events (chain, resource, seq) WHERE resource IS NOT NULL;
