-- Core tables: tenants, their customer keys (CMK), wrapped tenant keys, API tokens, secrets.
-- Only CMK-wrapped tenant keys and envelope ciphertexts are stored: a dump holds no usable key (G1).

CREATE TABLE tenants (
  id                text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  state             text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'locked', 'deleted')),
  cache_ttl_seconds integer NOT NULL DEFAULT 60 CHECK (cache_ttl_seconds BETWEEN 0 AND 3600),
  policy            jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- The customer's key as registered; `state` is what the service last learned about it.
CREATE TABLE tenant_cmk (
  tenant_id     text PRIMARY KEY REFERENCES tenants (id),
  provider      text NOT NULL CHECK (provider IN ('aws-kms', 'azure-kv', 'gcp-kms', 'local')),
  key_ref       text NOT NULL,
  state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'revoked')),
  last_error    text,
  verified_at   timestamptz NOT NULL,
  last_check_at timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Tenant keys (TK_v): 256-bit, stored only wrapped by the CMK named beside them.
CREATE TABLE tenant_keys (
  tenant_id       text NOT NULL REFERENCES tenants (id),
  version         integer NOT NULL CHECK (version >= 1),
  wrapped         bytea,
  cmk_provider    text NOT NULL,
  cmk_key_ref     text NOT NULL,
  cmk_key_version text,
  state           text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired', 'destroyed')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, version),
  CHECK ((state = 'destroyed') = (wrapped IS NULL))
);

-- Bearer tokens, stored as SHA-256 of a 256-bit random token.
CREATE TABLE api_tokens (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  role        text NOT NULL CHECK (role IN ('platform-admin', 'tenant-admin', 'service', 'auditor')),
  tenant_id   text REFERENCES tenants (id),
  token_hash  bytea NOT NULL UNIQUE,
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz,
  CHECK (role IN ('platform-admin', 'auditor') OR tenant_id IS NOT NULL),
  CHECK (role <> 'platform-admin' OR tenant_id IS NULL)
);

CREATE TABLE secrets (
  tenant_id       text NOT NULL REFERENCES tenants (id),
  name            text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  kind            text NOT NULL,
  labels          jsonb NOT NULL DEFAULT '{}'::jsonb,
  current_version integer NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

-- One row per value ever stored; `ciphertext` is an envelope v1 ciphertext bound to
-- {tenant, secret name, version}. Deleting a secret destroys every version's ciphertext.
CREATE TABLE secret_versions (
  tenant_id   text NOT NULL,
  name        text NOT NULL,
  version     integer NOT NULL CHECK (version >= 1),
  kind        text NOT NULL,
  ciphertext  bytea NOT NULL,
  tk_version  integer NOT NULL,
  hint        text NOT NULL,
  fingerprint text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name, version),
  FOREIGN KEY (tenant_id, name) REFERENCES secrets (tenant_id, name) ON DELETE CASCADE
);
CREATE INDEX secret_versions_fingerprint ON secret_versions (tenant_id, fingerprint);
