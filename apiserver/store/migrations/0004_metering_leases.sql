-- Budget leases (see apiserver/metering): besides the worst cases of its calls in flight, a meter instance
-- may hold a free lease of a user's budget in its quota_holds row — tokens, cost and requests of the current
-- minute set aside for calls it then decides by itself, without a database round trip. A lease is held like
-- any hold (it counts for every replica, and stops counting when the instance's lease ends), so the quotas
-- are never oversold. It is granted only far from every limit: at most p_lease_calls of the leasing call's
-- worst case, and at most an eighth of what each of its limits has left; when less than two calls' worth
-- fits, none is granted and every call is decided here, one by one, exactly as without leases. The meter gives
-- back what it did not use (p_release_*) with its next reservation, or through the usage writer when the
-- lease lies idle.
--
-- This overload of metering_reserve takes, after the arguments of 0003's:
--   p_release_tokens, p_release_cost, p_release_requests: the instance's free lease of this user in these
--     windows, given back first (the requests only when they were leased in p_minute);
--   p_lease_call: the call (1-based) whose checks and worst case the lease is for, 0 for no lease; its
--     checks must all be enforced;
--   p_lease_calls: how many of that call's worst case to lease at most.
-- and returns the lease granted (lease_tokens, lease_cost, lease_requests; zero when none was).
CREATE FUNCTION metering_reserve(
    p_instance uuid, p_user uuid, p_minute timestamptz, p_day timestamptz, p_month timestamptz,
    p_prompt bigint[], p_want bigint[], p_min bigint[], p_prompt_cost bigint[], p_out_price bigint[], p_nchecks int[],
    p_limit text[], p_max bigint[], p_enforce boolean[],
    p_release_tokens bigint, p_release_cost bigint, p_release_requests bigint, p_lease_call int, p_lease_calls int,
    OUT granted bigint[], OUT used bigint[], OUT allow bigint[], OUT held_tokens bigint[], OUT held_cost bigint[],
    OUT lease_tokens bigint, OUT lease_cost bigint, OUT lease_requests bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_requests bigint;
    v_day_tokens bigint;
    v_month_tokens bigint;
    v_month_cost bigint;
    v_own_requests bigint;
    v_own_tokens bigint;
    v_own_cost bigint;
    v_used bigint;
    v_allow bigint;
    v_avail bigint;
    v_granted bigint;
    v_counted boolean;
    v_tokens bigint;
    v_cost bigint;
    v_add_tokens bigint := 0;
    v_add_cost bigint := 0;
    v_add_requests bigint := 0;
    v_lease_k int := 0;
    v_lease_tokens bigint := 0;
    v_lease_cost bigint := 0;
    v_lease_counted boolean := false;
    v_n bigint;
    v_room bigint;
    k int := 0;
BEGIN
    -- What this transaction writes is unlogged (holds, request counts of a minute): its commit need not wait
    -- for the WAL to reach the disk.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_advisory_xact_lock(1835364724, hashtext(p_user::text));
    SELECT coalesce(h.requests, 0), coalesce(c.day_tokens, 0) + coalesce(h.day_tokens, 0),
           coalesce(c.month_tokens, 0) + coalesce(h.month_tokens, 0), coalesce(c.month_cost, 0) + coalesce(h.month_cost, 0),
           coalesce(h.own_requests, 0), coalesce(h.own_tokens, 0), coalesce(h.own_cost, 0)
      INTO v_requests, v_day_tokens, v_month_tokens, v_month_cost, v_own_requests, v_own_tokens, v_own_cost
      FROM (SELECT sum(tokens) FILTER (WHERE window_kind = 'day') AS day_tokens,
                   sum(tokens) FILTER (WHERE window_kind = 'month') AS month_tokens,
                   sum(cost_micros) FILTER (WHERE window_kind = 'month') AS month_cost
              FROM quota_counters
             WHERE user_id = p_user AND ((window_kind = 'day' AND window_start = p_day)
                OR (window_kind = 'month' AND window_start = p_month))) c,
           (SELECT sum(q.minute_requests) FILTER (WHERE q.minute_start = p_minute) AS requests,
                   sum(q.tokens) FILTER (WHERE q.day_start = p_day AND i.live) AS day_tokens,
                   sum(q.tokens) FILTER (WHERE i.live) AS month_tokens,
                   sum(q.cost_micros) FILTER (WHERE i.live) AS month_cost,
                   sum(q.minute_requests) FILTER (WHERE q.minute_start = p_minute AND q.instance_id = p_instance) AS own_requests,
                   sum(q.tokens) FILTER (WHERE q.day_start = p_day AND q.instance_id = p_instance AND i.live) AS own_tokens,
                   sum(q.cost_micros) FILTER (WHERE q.day_start = p_day AND q.instance_id = p_instance AND i.live) AS own_cost
              FROM quota_holds q
              LEFT JOIN LATERAL (SELECT m.expires_at > clock_timestamp() AS live FROM meter_instances m
                                  WHERE m.id = q.instance_id) i ON true
             WHERE q.user_id = p_user AND q.month_start = p_month) h;

    -- The free lease given back no longer counts (never more than this instance holds).
    p_release_tokens := least(greatest(p_release_tokens, 0), v_own_tokens);
    p_release_cost := least(greatest(p_release_cost, 0), v_own_cost);
    p_release_requests := least(greatest(p_release_requests, 0), v_own_requests);
    v_requests := v_requests - p_release_requests;
    v_day_tokens := v_day_tokens - p_release_tokens;
    v_month_tokens := v_month_tokens - p_release_tokens;
    v_month_cost := v_month_cost - p_release_cost;

    granted := '{}';
    used := '{}';
    allow := '{}';
    held_tokens := '{}';
    held_cost := '{}';
    FOR r IN 1 .. coalesce(array_length(p_prompt, 1), 0) LOOP
        v_granted := p_want[r];
        v_counted := false;
        IF r = p_lease_call THEN
            v_lease_k := k;
        END IF;
        FOR c IN 1 .. p_nchecks[r] LOOP
            k := k + 1;
            CASE p_limit[k]
            WHEN 'requestsPerMinute' THEN
                v_used := v_requests;
                v_allow := CASE WHEN v_requests < p_max[k] THEN p_want[r] ELSE -1 END;
            WHEN 'tokensPerDay' THEN
                v_used := v_day_tokens;
                v_allow := p_max[k] - v_day_tokens - p_prompt[r];
            WHEN 'tokensPerMonth' THEN
                v_used := v_month_tokens;
                v_allow := p_max[k] - v_month_tokens - p_prompt[r];
            WHEN 'costPerMonth' THEN
                v_used := v_month_cost;
                v_avail := p_max[k] - v_month_cost - p_prompt_cost[r];
                IF v_avail < 0 THEN
                    v_allow := -1;
                ELSIF p_out_price[r] <= 0 THEN
                    v_allow := p_want[r];
                ELSE
                    v_allow := least(p_want[r]::numeric, floor(v_avail::numeric * 1000000 / p_out_price[r]))::bigint;
                END IF;
            ELSE
                RAISE EXCEPTION 'metering_reserve: unknown limit %', p_limit[k];
            END CASE;
            used := used || v_used;
            allow := allow || v_allow;
            IF p_enforce[k] THEN
                v_granted := least(v_granted, v_allow);
            END IF;
            v_counted := v_counted OR p_limit[k] <> 'requestsPerMinute';
        END LOOP;
        IF r = p_lease_call THEN
            v_lease_counted := v_counted;
            v_lease_tokens := p_prompt[r] + p_want[r];
            v_lease_cost := p_prompt_cost[r] + ceil(p_want[r]::numeric * p_out_price[r] / 1000000)::bigint;
        END IF;
        v_tokens := 0;
        v_cost := 0;
        IF v_granted >= p_min[r] THEN
            IF v_counted THEN
                v_tokens := p_prompt[r] + v_granted;
                v_cost := p_prompt_cost[r] + ceil(v_granted::numeric * p_out_price[r] / 1000000)::bigint;
            END IF;
            v_requests := v_requests + 1;
            v_day_tokens := v_day_tokens + v_tokens;
            v_month_tokens := v_month_tokens + v_tokens;
            v_month_cost := v_month_cost + v_cost;
            v_add_requests := v_add_requests + 1;
            v_add_tokens := v_add_tokens + v_tokens;
            v_add_cost := v_add_cost + v_cost;
        END IF;
        granted := granted || v_granted;
        held_tokens := held_tokens || v_tokens;
        held_cost := held_cost || v_cost;
    END LOOP;

    -- The lease: n of the leasing call's worst cases, n at most p_lease_calls and at most an eighth of what
    -- each of its limits has left after the calls above; none below two.
    v_n := 0;
    IF p_lease_call BETWEEN 1 AND coalesce(array_length(p_prompt, 1), 0) AND p_lease_calls >= 2 THEN
        v_n := p_lease_calls;
        IF NOT v_lease_counted THEN
            v_lease_tokens := 0;
            v_lease_cost := 0;
        END IF;
        FOR c IN 1 .. p_nchecks[p_lease_call] LOOP
            k := v_lease_k + c;
            IF NOT p_enforce[k] THEN
                v_n := 0;
                EXIT;
            END IF;
            CASE p_limit[k]
            WHEN 'requestsPerMinute' THEN
                v_room := p_max[k] - v_requests;
                v_n := least(v_n, v_room / 8);
            WHEN 'tokensPerDay' THEN
                v_room := p_max[k] - v_day_tokens;
                v_n := least(v_n, v_room / (8 * greatest(v_lease_tokens, 1)));
            WHEN 'tokensPerMonth' THEN
                v_room := p_max[k] - v_month_tokens;
                v_n := least(v_n, v_room / (8 * greatest(v_lease_tokens, 1)));
            ELSE
                v_room := p_max[k] - v_month_cost;
                v_n := least(v_n, v_room / (8 * greatest(v_lease_cost, 1)));
            END CASE;
        END LOOP;
        IF v_n < 2 THEN
            v_n := 0;
        END IF;
    END IF;
    lease_requests := v_n;
    lease_tokens := v_n * v_lease_tokens;
    lease_cost := v_n * v_lease_cost;

    v_add_requests := v_add_requests + lease_requests - p_release_requests;
    v_add_tokens := v_add_tokens + lease_tokens - p_release_tokens;
    v_add_cost := v_add_cost + lease_cost - p_release_cost;
    IF v_add_requests <> 0 OR v_add_tokens <> 0 OR v_add_cost <> 0 THEN
        INSERT INTO quota_holds AS q (user_id, instance_id, day_start, month_start, tokens, cost_micros, minute_start, minute_requests)
        VALUES (p_user, p_instance, p_day, p_month, greatest(v_add_tokens, 0), greatest(v_add_cost, 0), p_minute, greatest(v_add_requests, 0))
        ON CONFLICT (user_id, instance_id, day_start, month_start) DO UPDATE SET
            tokens = q.tokens + v_add_tokens, cost_micros = q.cost_micros + v_add_cost,
            minute_start = EXCLUDED.minute_start,
            minute_requests = CASE WHEN q.minute_start = EXCLUDED.minute_start
                THEN q.minute_requests + v_add_requests ELSE greatest(v_add_requests, 0) END;
    END IF;
END;
$$;
