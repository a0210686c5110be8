-- Audit log (ARCHITECTURE G4): append-only, one hash chain per tenant ('_platform' for events
-- without a tenant). The writer (packages/audit) assigns seq and hashes under a row lock on the
-- chain's head, so concurrent writers on any number of instances cannot fork a chain or leave gaps.
-- Events never hold plaintext, secrets or key material; details is a small allow-listed object.

CREATE TABLE audit_events (
  chain          text NOT NULL CHECK (length(chain) BETWEEN 1 AND 128),
  seq            bigint NOT NULL CHECK (seq >= 1),
  tenant_id      text,
  at             timestamptz NOT NULL,
  actor_token_id text,
  actor_role     text,
  action         text NOT NULL,
  resource       text,
  outcome        text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  error_code     text,
  purpose        text,
  kms_provider   text,
  kms_key_ref    text,
  kms_request_id text,
  request_id     text,
  details        jsonb,
  prev_hash      bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
  hash           bytea NOT NULL CHECK (octet_length(hash) = 32),
  PRIMARY KEY (chain, seq)
);

-- Cross-chain queries page by (at, chain, seq); per-chain queries use the primary key.
CREATE INDEX audit_events_at_idx ON audit_events (at, chain, seq);

-- The last (seq, hash) of each chain. Writers lock this row (SELECT ... FOR UPDATE) to serialise
-- appends; the verifier compares it with the table to detect a truncated tail.
CREATE TABLE audit_chain_heads (
  chain      text PRIMARY KEY,
  seq        bigint NOT NULL CHECK (seq >= 0),
  hash       bytea NOT NULL CHECK (octet_length(hash) = 32),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Signed chain heads, meant to be copied outside the database (written by a later job).
CREATE TABLE audit_checkpoints (
  chain     text NOT NULL,
  seq       bigint NOT NULL CHECK (seq >= 1),
  head_hash bytea NOT NULL CHECK (octet_length(head_hash) = 32),
  at        timestamptz NOT NULL DEFAULT now(),
  signature bytea NOT NULL,
  key_id    text NOT NULL,
  PRIMARY KEY (chain, seq)
);

CREATE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % is not allowed: the audit log is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();

CREATE TRIGGER audit_checkpoints_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_checkpoints_no_truncate
  BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();

-- Heads move forward only (UPDATE by the writer); deleting one would hide a truncated tail.
CREATE TRIGGER audit_chain_heads_no_delete
  BEFORE DELETE ON audit_chain_heads
  FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
CREATE TRIGGER audit_chain_heads_no_truncate
  BEFORE TRUNCATE ON audit_chain_heads
  FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();

CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.chain <> OLD.chain OR NEW.seq < OLD.seq THEN
    RAISE EXCEPTION 'audit chain head % may only move forward', OLD.chain
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_chain_heads_forward_only
  BEFORE UPDATE ON audit_chain_heads
  FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
