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

-- Reserve in ONE statement (one round trip, so the counters are locked only for the statement and
-- its commit). When no cap applies to the secret it holds nothing and locks nothing. Otherwise it
-- creates the call's four counters if missing, lock them in one fixed order (tenant-wide
-- before the secret, day before month: concurrent calls never deadlock), and unless a cap that
-- applies would be passed, raise all four and store the reservation. Returns the first cap that
-- would be passed (nothing changed), or no row (reserved).
CREATE FUNCTION ai_reserve(p_id text, p_tenant text, p_secret text, p_day date, p_month date,
                           p_amount bigint, p_now timestamptz, p_expires timestamptz)
RETURNS TABLE (hit_secret text, hit_period text, hit_limit bigint, hit_spent bigint, hit_reserved bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  -- No cap applies: nothing to hold, no counter locked (settling still counts the spend).
  IF NOT EXISTS (SELECT 1 FROM ai_budgets b WHERE b.tenant_id = p_tenant AND b.secret_name IN ('', p_secret)) THEN
    RETURN;
  END IF;
  INSERT INTO ai_spend (tenant_id, secret_name, period, window_start)
  VALUES (p_tenant, '', 'day', p_day), (p_tenant, '', 'month', p_month),
         (p_tenant, p_secret, 'day', p_day), (p_tenant, p_secret, 'month', p_month)
  ON CONFLICT DO NOTHING;
  FOR r IN
    SELECT s.secret_name AS sn, s.period AS pe, b.limit_micros AS lim, s.spent_micros AS sp, s.reserved_micros AS re
      FROM ai_spend s
      LEFT JOIN ai_budgets b ON b.tenant_id = s.tenant_id AND b.secret_name = s.secret_name AND b.period = s.period
     WHERE s.tenant_id = p_tenant AND s.secret_name IN ('', p_secret)
       AND ((s.period = 'day' AND s.window_start = p_day) OR (s.period = 'month' AND s.window_start = p_month))
     ORDER BY s.secret_name, s.period
       FOR UPDATE OF s
  LOOP
    IF r.lim IS NOT NULL AND r.sp + r.re + p_amount > r.lim THEN
      hit_secret := r.sn; hit_period := r.pe; hit_limit := r.lim; hit_spent := r.sp; hit_reserved := r.re;
      RETURN NEXT;
      RETURN;
    END IF;
  END LOOP;
  UPDATE ai_spend s SET reserved_micros = s.reserved_micros + p_amount
   WHERE s.tenant_id = p_tenant AND s.secret_name IN ('', p_secret)
     AND ((s.period = 'day' AND s.window_start = p_day) OR (s.period = 'month' AND s.window_start = p_month));
  INSERT INTO ai_reservations (id, tenant_id, secret_name, day, month, amount_micros, created_at, expires_at)
  VALUES (p_id, p_tenant, p_secret, p_day, p_month, p_amount, p_now, p_expires);
  RETURN;
END $$;

-- Gives a reservation back in ONE statement: removes it and lowers its four counters (locked in
-- the same order as ai_reserve) by what it held. False when it was already gone.
CREATE FUNCTION ai_release(p_id text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  g record;
BEGIN
  DELETE FROM ai_reservations WHERE id = p_id
  RETURNING tenant_id, secret_name, day, month, amount_micros INTO g;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM 1 FROM ai_spend s
   WHERE s.tenant_id = g.tenant_id AND s.secret_name IN ('', g.secret_name)
     AND ((s.period = 'day' AND s.window_start = g.day) OR (s.period = 'month' AND s.window_start = g.month))
   ORDER BY s.secret_name, s.period
     FOR UPDATE OF s;
  UPDATE ai_spend s SET reserved_micros = greatest(0, s.reserved_micros - g.amount_micros)
   WHERE s.tenant_id = g.tenant_id AND s.secret_name IN ('', g.secret_name)
     AND ((s.period = 'day' AND s.window_start = g.day) OR (s.period = 'month' AND s.window_start = g.month));
  RETURN true;
END $$;

-- Settles in ONE statement: removes the reservation, counts the call in the daily and hourly usage,
-- then moves what the reservation held on its four counters to the real cost (counters last, so
-- they stay locked only until the commit that follows). A reservation already gone (swept) holds
-- nothing: the cost is added to the windows given (the settle time's).
CREATE FUNCTION ai_settle(p_id text, p_tenant text, p_secret text, p_model text, p_day date, p_month date,
                          p_hour timestamptz, p_error boolean, p_cost bigint, p_unpriced boolean,
                          p_input bigint, p_cached bigint, p_output bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_amount bigint := 0;
  v_day date := p_day;
  v_month date := p_month;
BEGIN
  DELETE FROM ai_reservations WHERE id = p_id AND tenant_id = p_tenant
  RETURNING amount_micros, day, month INTO v_amount, v_day, v_month;
  IF NOT FOUND THEN
    v_amount := 0; v_day := p_day; v_month := p_month;
  END IF;
  INSERT INTO ai_usage_daily AS u (tenant_id, secret_name, model, day, calls, errors, unpriced_calls,
                                   input_tokens, cached_input_tokens, output_tokens, cost_micros)
  VALUES (p_tenant, p_secret, p_model, v_day, 1, CASE WHEN p_error THEN 1 ELSE 0 END,
          CASE WHEN p_unpriced THEN 1 ELSE 0 END, p_input, p_cached, p_output, p_cost)
  ON CONFLICT (tenant_id, day, secret_name, model) DO UPDATE SET
    calls = u.calls + 1,
    errors = u.errors + EXCLUDED.errors,
    unpriced_calls = u.unpriced_calls + EXCLUDED.unpriced_calls,
    input_tokens = u.input_tokens + EXCLUDED.input_tokens,
    cached_input_tokens = u.cached_input_tokens + EXCLUDED.cached_input_tokens,
    output_tokens = u.output_tokens + EXCLUDED.output_tokens,
    cost_micros = u.cost_micros + EXCLUDED.cost_micros;
  INSERT INTO ai_usage_hourly AS h (tenant_id, secret_name, hour, calls, cost_micros)
  VALUES (p_tenant, p_secret, p_hour, 1, p_cost)
  ON CONFLICT (tenant_id, secret_name, hour) DO UPDATE SET
    calls = h.calls + 1, cost_micros = h.cost_micros + EXCLUDED.cost_micros;
  INSERT INTO ai_spend AS s (tenant_id, secret_name, period, window_start, spent_micros)
  VALUES (p_tenant, '', 'day', v_day, p_cost), (p_tenant, '', 'month', v_month, p_cost),
         (p_tenant, p_secret, 'day', v_day, p_cost), (p_tenant, p_secret, 'month', v_month, p_cost)
  ON CONFLICT (tenant_id, secret_name, period, window_start) DO UPDATE SET
    spent_micros = s.spent_micros + EXCLUDED.spent_micros,
    reserved_micros = greatest(0, s.reserved_micros - v_amount);
END $$;
