-- Per-tenant rate-limit override set by the platform admin (issue 14): requests per second and
-- burst of the tenant's token bucket. Both NULL: the service's defaults (RATE_LIMIT_TENANT_*).
ALTER TABLE tenants
  ADD COLUMN rate_limit_rps   double precision CHECK (rate_limit_rps >= 0.001 AND rate_limit_rps <= 1000000),
  ADD COLUMN rate_limit_burst integer CHECK (rate_limit_burst BETWEEN 1 AND 1000000),
  ADD CONSTRAINT tenants_rate_limit_both CHECK ((rate_limit_rps IS NULL) = (rate_limit_burst IS NULL));
