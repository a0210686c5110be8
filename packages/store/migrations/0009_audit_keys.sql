-- Audit-key custody and audit-row provenance (issue 13, deliverable 4).
--
-- Provenance: every new event names the server-issued request id (request_id, as before), the
-- client's own X-Request-Id beside it (never trusted as the id) and the client address. The hash
-- covers these two only when they are not null, so every row written before this migration keeps
-- its hash and its chain keeps verifying.
ALTER TABLE audit_events ADD COLUMN client_request_id text;
ALTER TABLE audit_events ADD COLUMN client_address text;

-- The keyring of checkpoint signing keys: PUBLIC keys only, each with its validity period. Every
-- instance adds its own signing key at start; a key seen for the first time closes the keys open
-- before it (valid_until), so old checkpoints keep verifying and a retired key cannot sign new
-- ones. An insider who can write this table can add a key: offline verification takes its keyring
-- from the customer's security team, never from here (see README, "Audit signing keys").
CREATE TABLE audit_public_keys (
  key_id         text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
  algorithm      text NOT NULL CHECK (algorithm = 'Ed25519'),
  public_key_pem text NOT NULL CHECK (length(public_key_pem) BETWEEN 64 AND 4096),
  valid_from     timestamptz NOT NULL DEFAULT now(),
  valid_until    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE TRIGGER audit_public_keys_no_delete
  BEFORE DELETE ON audit_public_keys
  FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
