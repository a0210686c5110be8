-- Strict-mode purpose binding: extra copies of a tenant key, each wrapped by the CMK under an
-- encryption context that also names one declared access purpose. A strict-mode decrypt unwraps
-- the copy of its purpose, so the purpose shows in the customer's own KMS log (CloudTrail shows
-- the encryption context) and the customer can allow or deny purposes in its key policy.
CREATE TABLE tenant_key_purpose_wraps (
  tenant_id      text NOT NULL,
  version        integer NOT NULL,
  access_purpose text NOT NULL CHECK (access_purpose ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
  wrapped        bytea NOT NULL,
  cmk_key_ref    text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, version, access_purpose),
  FOREIGN KEY (tenant_id, version) REFERENCES tenant_keys (tenant_id, version)
);
