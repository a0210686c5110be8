-- Issue 13, separation of duties.
-- Every token can expire (and a rotated token expires when its overlap window ends).
ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS expires_at timestamptz;
-- A service token names the platform service it belongs to (what a tenant admin can suspend).
ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS service text
  CHECK (service IS NULL OR service ~ '^[a-z0-9][a-z0-9._-]{0,63}$');
-- Services a tenant admin has suspended from this tenant.
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS suspended_services text[] NOT NULL DEFAULT '{}';
-- First half of a two-admin restore (policy restoreRequiresTwoAdmins): who asked, and when.
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS restore_requested_by text;
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS restore_requested_at timestamptz;
-- One service token per platform service: granted a list of tenants (tenant_grants), or every
-- tenant (a service token with neither tenant_id nor tenant_grants). A single-tenant service token
-- keeps tenant_id as before.
ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS tenant_grants text[];
ALTER TABLE api_tokens DROP CONSTRAINT IF EXISTS api_tokens_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_tenant_scope
  CHECK (role IN ('platform-admin', 'auditor', 'service') OR tenant_id IS NOT NULL);
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_grants_service_only
  CHECK (tenant_grants IS NULL OR (role = 'service' AND tenant_id IS NULL));
