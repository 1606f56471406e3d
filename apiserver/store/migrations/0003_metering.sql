-- Metering: personal API tokens, usage records with their daily rollups, and the quota counters and
-- holds that make quota enforcement exact across replicas (see apiserver/metering).

-- Personal API tokens for /v1. The secret is stored as its SHA-256 (it is 32 random bytes: no KDF needed);
-- prefix is the visible start of the token ("llmp_" and a short id) that lets people recognise it.
CREATE TABLE api_tokens (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           text NOT NULL,
    prefix         text NOT NULL,
    secret_hash    bytea NOT NULL UNIQUE,
    allowed_models text[] NOT NULL DEFAULT '{}',
    expires_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz,
    revoked_at     timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at DESC, id DESC);

-- One row per metered request, whatever its outcome. Written in batches by the meter's writer; no foreign
-- keys, so that a batch never fails because a user was deleted meanwhile (the spend was real). day is the
-- request's start date in the platform's time zone, the key of the rollups. Deleted after
-- metering.rawRetention; the rollups stay.
CREATE TABLE usage_records (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at        timestamptz NOT NULL,
    day               date NOT NULL,
    user_id           uuid NOT NULL,
    token_id          uuid,
    source            text NOT NULL,
    provider          text NOT NULL,
    model             text NOT NULL,
    key_id            text NOT NULL DEFAULT '',
    user_key_id       text NOT NULL DEFAULT '',
    prompt_tokens     bigint NOT NULL,
    cached_tokens     bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    reasoning_tokens  bigint NOT NULL,
    cost_micros       bigint NOT NULL,
    latency_ms        bigint NOT NULL,
    ttft_ms           bigint,
    outcome           text NOT NULL,
    error_code        text NOT NULL DEFAULT '',
    estimated         boolean NOT NULL,
    conversation_id   uuid,
    message_id        uuid,
    -- refusal is the Enforce refusal of a refused request; shadow the would-be refusals of Shadow quotas.
    refusal           jsonb,
    shadow            jsonb
);
-- Rows arrive in time order, so a BRIN index serves the retention job at almost no cost per insert.
CREATE INDEX usage_records_started_idx ON usage_records USING brin (started_at);

-- Daily rollups: what statistics read, so they never scan raw records. Updated in the same statement that
-- inserts the records they sum.
CREATE TABLE usage_daily (
    day               date NOT NULL,
    user_id           uuid NOT NULL,
    provider          text NOT NULL,
    model             text NOT NULL,
    requests          bigint NOT NULL,
    refused           bigint NOT NULL,
    failed            bigint NOT NULL,
    estimated         bigint NOT NULL,
    prompt_tokens     bigint NOT NULL,
    cached_tokens     bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    reasoning_tokens  bigint NOT NULL,
    cost_micros       bigint NOT NULL,
    PRIMARY KEY (day, user_id, provider, model)
);
CREATE INDEX usage_daily_user_idx ON usage_daily (user_id, day);

-- Refusals per quota, limit and user per day: Enforce refusals and the would-be refusals of Shadow quotas.
CREATE TABLE quota_refusals_daily (
    day        date NOT NULL,
    quota      text NOT NULL,
    limit_name text NOT NULL,
    shadow     boolean NOT NULL,
    user_id    uuid NOT NULL,
    refusals   bigint NOT NULL,
    PRIMARY KEY (day, quota, limit_name, shadow, user_id)
);

-- What each user consumed per window (a day or a month starting at window_start in the platform's time zone):
-- the tokens and cost of settled calls with platform keys, added by the usage writer. The quotas check these
-- plus the live holds.
CREATE TABLE quota_counters (
    user_id      uuid NOT NULL,
    window_kind  text NOT NULL CHECK (window_kind IN ('day', 'month')),
    window_start timestamptz NOT NULL,
    tokens       bigint NOT NULL DEFAULT 0,
    cost_micros  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, window_kind, window_start)
) WITH (fillfactor = 50);
CREATE INDEX quota_counters_window_idx ON quota_counters (window_kind, window_start);

-- Each API server process's meter is an instance with a lease, which it renews every few seconds while it
-- runs (one statement per process, however many calls are in flight).
CREATE UNLOGGED TABLE meter_instances (
    id         uuid PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

-- Holds: the worst cases reserved by the calls in flight, summed per user, meter instance and windows, and
-- the requests the instance let through in its latest minute. A reservation adds to its row; the usage
-- writer subtracts it in the statement that adds the real usage to quota_counters. Holds count only while
-- their instance's lease lasts: when a process dies, its holds stop counting when its lease expires.
-- Nothing releases them, so nothing can release them twice. Updating one row in place per call (no index
-- key changes: HOT updates, with room left on each page for them) instead of inserting and deleting a row
-- per call keeps the table small and each reservation cheap. Unlogged: after a database crash there are no calls in flight to account for, and a
-- minute's request counts are soon over anyway.
CREATE UNLOGGED TABLE quota_holds (
    user_id         uuid NOT NULL,
    instance_id     uuid NOT NULL,
    day_start       timestamptz NOT NULL,
    month_start     timestamptz NOT NULL,
    tokens          bigint NOT NULL DEFAULT 0,
    cost_micros     bigint NOT NULL DEFAULT 0,
    minute_start    timestamptz NOT NULL,
    minute_requests bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, instance_id, day_start, month_start)
) WITH (fillfactor = 10);

-- metering_reserve reserves the worst cases of one user's calls against the user's counted limits in one
-- atomic step: one round trip, one short transaction, however many calls (concurrent calls of a user are
-- reserved together). Calls of the same user are serialised by an advisory lock on the user; the counters
-- and the holds are read in ONE statement, so that a concurrent usage write (which moves a hold into the
-- counters in one statement) is seen wholly or not at all. The calls are then decided in order, each seeing
-- the holds of the calls granted before it.
--
-- Call r has p_nchecks[r] checks, laid out one after the other in p_limit, p_max and p_enforce: a limit
-- (requestsPerMinute, tokensPerDay, tokensPerMonth or costPerMonth), its maximum (requests, tokens, or
-- micro-USD) and whether it is enforced. For each check the function returns the amount used so far
-- (used[k], settled plus held) and how many output tokens it allows on top of the prompt (allow[k];
-- negative when it allows none). granted[r] is p_want[r] lowered by every enforced check of the call. When
-- granted[r] >= p_min[r] the call is counted in the instance's requests of the minute and, when it has a
-- token or cost check, p_prompt[r] + granted[r] tokens and p_prompt_cost[r] plus the granted output's cost
-- (rounded up) are held (returned as held_tokens[r] and held_cost[r]). One write for all the calls.
CREATE FUNCTION metering_reserve(
    p_instance uuid, p_user uuid, p_minute timestamptz, p_day timestamptz, p_month timestamptz,
    p_prompt bigint[], p_want bigint[], p_min bigint[], p_prompt_cost bigint[], p_out_price bigint[], p_nchecks int[],
    p_limit text[], p_max bigint[], p_enforce boolean[],
    OUT granted bigint[], OUT used bigint[], OUT allow bigint[], OUT held_tokens bigint[], OUT held_cost bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    v_requests bigint;
    v_day_tokens bigint;
    v_month_tokens bigint;
    v_month_cost bigint;
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
    k int := 0;
BEGIN
    -- What this transaction writes is unlogged (holds, request counts of a minute): its commit need not wait
    -- for the WAL to reach the disk.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_advisory_xact_lock(1835364724, hashtext(p_user::text));
    SELECT coalesce(h.requests, 0), coalesce(c.day_tokens, 0) + coalesce(h.day_tokens, 0),
           coalesce(c.month_tokens, 0) + coalesce(h.month_tokens, 0), coalesce(c.month_cost, 0) + coalesce(h.month_cost, 0)
      INTO v_requests, v_day_tokens, v_month_tokens, v_month_cost
      FROM (SELECT sum(tokens) FILTER (WHERE window_kind = 'day') AS day_tokens,
                   sum(tokens) FILTER (WHERE window_kind = 'month') AS month_tokens,
                   sum(cost_micros) FILTER (WHERE window_kind = 'month') AS month_cost
              FROM quota_counters
             WHERE user_id = p_user AND ((window_kind = 'day' AND window_start = p_day)
                OR (window_kind = 'month' AND window_start = p_month))) c,
           (SELECT sum(q.minute_requests) FILTER (WHERE q.minute_start = p_minute) AS requests,
                   sum(q.tokens) FILTER (WHERE q.day_start = p_day AND i.live) AS day_tokens,
                   sum(q.tokens) FILTER (WHERE i.live) AS month_tokens,
                   sum(q.cost_micros) FILTER (WHERE i.live) AS month_cost
              FROM quota_holds q
              LEFT JOIN LATERAL (SELECT m.expires_at > clock_timestamp() AS live FROM meter_instances m
                                  WHERE m.id = q.instance_id) i ON true
             WHERE q.user_id = p_user AND q.month_start = p_month) h;

    granted := '{}';
    used := '{}';
    allow := '{}';
    held_tokens := '{}';
    held_cost := '{}';
    FOR r IN 1 .. coalesce(array_length(p_prompt, 1), 0) LOOP
        v_granted := p_want[r];
        v_counted := false;
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

    IF v_add_requests > 0 THEN
        INSERT INTO quota_holds AS q (user_id, instance_id, day_start, month_start, tokens, cost_micros, minute_start, minute_requests)
        VALUES (p_user, p_instance, p_day, p_month, v_add_tokens, v_add_cost, p_minute, v_add_requests)
        ON CONFLICT (user_id, instance_id, day_start, month_start) DO UPDATE SET
            tokens = q.tokens + EXCLUDED.tokens, cost_micros = q.cost_micros + EXCLUDED.cost_micros,
            minute_start = EXCLUDED.minute_start,
            minute_requests = CASE WHEN q.minute_start = EXCLUDED.minute_start
                THEN q.minute_requests + EXCLUDED.minute_requests ELSE EXCLUDED.minute_requests END;
    END IF;
END;
$$;
