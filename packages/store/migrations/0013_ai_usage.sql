-- AI usage metering, spend caps and spike alerts (issue 15, deliverables 4-6).

-- Usage per tenant, secret, model and UTC day: the cost dashboard's data. `model` is the model the
-- upstream served (else the one asked for, else 'unknown'); `unpriced_calls` counts calls whose
-- model had no price (their cost is not in cost_micros).
CREATE TABLE ai_usage_daily (
  tenant_id           text NOT NULL REFERENCES tenants (id),
  secret_name         text NOT NULL,
  model               text NOT NULL,
  day                 date NOT NULL,
  calls               bigint NOT NULL DEFAULT 0,
  errors              bigint NOT NULL DEFAULT 0,
  unpriced_calls      bigint NOT NULL DEFAULT 0,
  input_tokens        bigint NOT NULL DEFAULT 0,
  cached_input_tokens bigint NOT NULL DEFAULT 0,
  output_tokens       bigint NOT NULL DEFAULT 0,
  cost_micros         bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day, secret_name, model)
);

-- Calls and spend per secret and UTC hour, for spike detection (kept 8 days).
CREATE TABLE ai_usage_hourly (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  secret_name text NOT NULL,
  hour        timestamptz NOT NULL,
  calls       bigint NOT NULL DEFAULT 0,
  cost_micros bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, secret_name, hour)
);
CREATE INDEX ai_usage_hourly_hour ON ai_usage_hourly (hour);

-- Spend caps: tenant-wide (secret_name = '') or per secret, per UTC day or month.
CREATE TABLE ai_budgets (
  tenant_id    text NOT NULL REFERENCES tenants (id),
  secret_name  text NOT NULL,
  period       text NOT NULL CHECK (period IN ('day', 'month')),
  limit_micros bigint NOT NULL CHECK (limit_micros >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, secret_name, period)
);

-- Spend counters per scope (tenant-wide '' or one secret) and period window (the UTC day, or the
-- first day of the UTC month). A reservation adds to `reserved_micros` only while
-- spent + reserved + amount <= the cap; settling moves the real cost to `spent_micros`.
CREATE TABLE ai_spend (
  tenant_id       text NOT NULL REFERENCES tenants (id),
  secret_name     text NOT NULL,
  period          text NOT NULL CHECK (period IN ('day', 'month')),
  window_start    date NOT NULL,
  spent_micros    bigint NOT NULL DEFAULT 0 CHECK (spent_micros >= 0),
  reserved_micros bigint NOT NULL DEFAULT 0 CHECK (reserved_micros >= 0),
  PRIMARY KEY (tenant_id, secret_name, period, window_start)
);

-- One in-flight reservation: what it holds on its four counters until settled, released, or
-- expired (a crashed instance's reservations are swept after `expires_at` and given back).
CREATE TABLE ai_reservations (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants (id),
  secret_name   text NOT NULL,
  day           date NOT NULL,
  month         date NOT NULL,
  amount_micros bigint NOT NULL CHECK (amount_micros >= 0),
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL
);
CREATE INDEX ai_reservations_expiry ON ai_reservations (expires_at);

-- At most one spike alert per secret and UTC hour, across every instance.
CREATE TABLE ai_spike_alerts (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  secret_name text NOT NULL,
  hour        timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, secret_name, hour)
);
