-- The point up to which each chain was last verified whole (issue 14): /v1/audit/verify continues
-- from here unless asked for ?full=true. The hash is kept so a rewritten anchor row is noticed.
CREATE TABLE audit_verified_marks (
  chain       text PRIMARY KEY,
  seq         bigint NOT NULL CHECK (seq >= 1),
  hash        bytea NOT NULL CHECK (octet_length(hash) = 32),
  verified_at timestamptz NOT NULL DEFAULT now()
);
