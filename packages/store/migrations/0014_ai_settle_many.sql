-- Settles many gateway calls in ONE statement (issue 15, speed): the instance queues its settles
-- and writes them in batches, so N calls of one tenant cost one round trip and one commit instead
-- of N commits queued on the same hot counter rows.
--
-- Same effect as ai_settle per call: each call's reservation is removed (one already swept holds
-- nothing), the call is counted in the daily and hourly usage of its reservation's windows (else
-- the windows given), and each counter moves what its reservations held to the real cost.
-- Rows are aggregated before they are written (one upsert per row) and locked in one fixed order:
-- daily, hourly, then counters by (tenant, scope '' first, period day before month, window), the
-- order ai_reserve locks them in, so batches on several instances never deadlock.
CREATE FUNCTION ai_settle_many(p_ids text[], p_tenants text[], p_secrets text[], p_models text[],
                               p_days date[], p_months date[], p_hours timestamptz[],
                               p_errors boolean[], p_costs bigint[], p_unpriced boolean[],
                               p_inputs bigint[], p_cached bigint[], p_outputs bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  -- Per call, aligned with p_ids: what its reservation held, and the windows it is charged to.
  v_held bigint[];
  v_days date[];
  v_months date[];
  c record;
BEGIN
  WITH gone AS (
    DELETE FROM ai_reservations r
     USING unnest(p_ids, p_tenants) AS i(id, tenant_id)
     WHERE r.id = i.id AND r.tenant_id = i.tenant_id
    RETURNING r.id, r.amount_micros, r.day, r.month
  )
  SELECT array_agg(coalesce(g.amount_micros, 0) ORDER BY i.n),
         array_agg(coalesce(g.day, i.day) ORDER BY i.n),
         array_agg(coalesce(g.month, i.month) ORDER BY i.n)
    INTO v_held, v_days, v_months
    FROM unnest(p_ids, p_days, p_months) WITH ORDINALITY AS i(id, day, month, n)
    LEFT JOIN gone g ON g.id = i.id;

  INSERT INTO ai_usage_daily AS u (tenant_id, secret_name, model, day, calls, errors, unpriced_calls,
                                   input_tokens, cached_input_tokens, output_tokens, cost_micros)
  SELECT tenant_id, secret_name, model, day, count(*), count(*) FILTER (WHERE error),
         count(*) FILTER (WHERE unpriced), sum(input), sum(cached), sum(output), sum(cost)
    FROM unnest(p_tenants, p_secrets, p_models, v_days, p_errors, p_unpriced, p_inputs, p_cached,
                p_outputs, p_costs)
         AS b(tenant_id, secret_name, model, day, error, unpriced, input, cached, output, cost)
   GROUP BY tenant_id, day, secret_name, model
   ORDER BY tenant_id, day, secret_name, model
  ON CONFLICT (tenant_id, day, secret_name, model) DO UPDATE SET
    calls = u.calls + EXCLUDED.calls,
    errors = u.errors + EXCLUDED.errors,
    unpriced_calls = u.unpriced_calls + EXCLUDED.unpriced_calls,
    input_tokens = u.input_tokens + EXCLUDED.input_tokens,
    cached_input_tokens = u.cached_input_tokens + EXCLUDED.cached_input_tokens,
    output_tokens = u.output_tokens + EXCLUDED.output_tokens,
    cost_micros = u.cost_micros + EXCLUDED.cost_micros;

  INSERT INTO ai_usage_hourly AS h (tenant_id, secret_name, hour, calls, cost_micros)
  SELECT tenant_id, secret_name, hour, count(*), sum(cost)
    FROM unnest(p_tenants, p_secrets, p_hours, p_costs) AS b(tenant_id, secret_name, hour, cost)
   GROUP BY tenant_id, secret_name, hour
   ORDER BY tenant_id, secret_name, hour
  ON CONFLICT (tenant_id, secret_name, hour) DO UPDATE SET
    calls = h.calls + EXCLUDED.calls, cost_micros = h.cost_micros + EXCLUDED.cost_micros;

  FOR c IN
    SELECT x.tenant_id, x.scope, x.period, x.window_start, sum(x.cost) AS spent, sum(x.held) AS held
      FROM unnest(p_tenants, p_secrets, v_days, v_months, p_costs, v_held)
           AS b(tenant_id, secret_name, day, month, cost, held)
     CROSS JOIN LATERAL (VALUES (b.tenant_id, '', 'day', b.day, b.cost, b.held),
                                (b.tenant_id, '', 'month', b.month, b.cost, b.held),
                                (b.tenant_id, b.secret_name, 'day', b.day, b.cost, b.held),
                                (b.tenant_id, b.secret_name, 'month', b.month, b.cost, b.held))
           AS x(tenant_id, scope, period, window_start, cost, held)
     GROUP BY x.tenant_id, x.scope, x.period, x.window_start
     ORDER BY x.tenant_id, x.scope, x.period, x.window_start
  LOOP
    INSERT INTO ai_spend AS s (tenant_id, secret_name, period, window_start, spent_micros)
    VALUES (c.tenant_id, c.scope, c.period, c.window_start, c.spent)
    ON CONFLICT (tenant_id, secret_name, period, window_start) DO UPDATE SET
      spent_micros = s.spent_micros + EXCLUDED.spent_micros,
      reserved_micros = greatest(0, s.reserved_micros - c.held);
  END LOOP;
END $$;
