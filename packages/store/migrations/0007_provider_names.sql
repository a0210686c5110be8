-- Provider names come from the service's registry of KMS provider modules, not from a list in the
-- schema: adding a provider must not need a migration. The application checks the name against its
-- registry before any row is written.
ALTER TABLE tenant_cmk DROP CONSTRAINT IF EXISTS tenant_cmk_provider_check;
