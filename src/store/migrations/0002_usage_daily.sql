-- Schema version 2: a daily roll-up of llm_calls for `samocoder usage`.
-- One row per UTC day, project, role, provider and model; kept exact by triggers on every
-- insert, update and delete of llm_calls, so reports over a long history read a few thousand
-- roll-up rows instead of a million calls. project_id 0 means "no project" (never a real id).

CREATE TABLE llm_usage_daily (
    day                INTEGER NOT NULL,            -- created_at / 86400000 (UTC day number)
    project_id         INTEGER NOT NULL DEFAULT 0,  -- 0: no project (or a forgotten one)
    role               TEXT    NOT NULL,
    provider           TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    requests           INTEGER NOT NULL DEFAULT 0,
    ok                 INTEGER NOT NULL DEFAULT 0,
    failed             INTEGER NOT NULL DEFAULT 0,
    retried            INTEGER NOT NULL DEFAULT 0,
    input_tokens       INTEGER NOT NULL DEFAULT 0,
    cached_tokens      INTEGER NOT NULL DEFAULT 0,
    output_tokens      INTEGER NOT NULL DEFAULT 0,
    cost_usd           REAL    NOT NULL DEFAULT 0,  -- sum of the known costs
    unknown_cost_calls INTEGER NOT NULL DEFAULT 0,
    latency_ms_sum     INTEGER NOT NULL DEFAULT 0,
    ttft_ms_sum        INTEGER NOT NULL DEFAULT 0,
    ttft_calls         INTEGER NOT NULL DEFAULT 0,  -- calls that reported a time to first token
    PRIMARY KEY (day, project_id, provider, model, role)
) STRICT, WITHOUT ROWID;
CREATE INDEX llm_usage_daily_project ON llm_usage_daily (project_id, day);

INSERT INTO llm_usage_daily
SELECT created_at / 86400000, IFNULL(project_id, 0), role, provider, model,
       COUNT(*), SUM(outcome = 'ok'), SUM(outcome <> 'ok'), SUM(attempt > 1 OR route_index > 0),
       SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens),
       TOTAL(cost_usd), COUNT(*) - COUNT(cost_usd),
       SUM(latency_ms), IFNULL(SUM(ttft_ms), 0), COUNT(ttft_ms)
FROM llm_calls
GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER llm_usage_daily_insert AFTER INSERT ON llm_calls
BEGIN
    INSERT INTO llm_usage_daily VALUES (
        NEW.created_at / 86400000, IFNULL(NEW.project_id, 0), NEW.role, NEW.provider, NEW.model,
        1, NEW.outcome = 'ok', NEW.outcome <> 'ok', NEW.attempt > 1 OR NEW.route_index > 0,
        NEW.input_tokens, NEW.cached_tokens, NEW.output_tokens,
        IFNULL(NEW.cost_usd, 0), NEW.cost_usd IS NULL,
        NEW.latency_ms, IFNULL(NEW.ttft_ms, 0), NEW.ttft_ms IS NOT NULL)
    ON CONFLICT (day, project_id, provider, model, role) DO UPDATE SET
        requests = requests + 1,
        ok = ok + excluded.ok,
        failed = failed + excluded.failed,
        retried = retried + excluded.retried,
        input_tokens = input_tokens + excluded.input_tokens,
        cached_tokens = cached_tokens + excluded.cached_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_usd = cost_usd + excluded.cost_usd,
        unknown_cost_calls = unknown_cost_calls + excluded.unknown_cost_calls,
        latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
        ttft_ms_sum = ttft_ms_sum + excluded.ttft_ms_sum,
        ttft_calls = ttft_calls + excluded.ttft_calls;
END;

CREATE TRIGGER llm_usage_daily_delete AFTER DELETE ON llm_calls
BEGIN
    UPDATE llm_usage_daily SET
        requests = requests - 1,
        ok = ok - (OLD.outcome = 'ok'),
        failed = failed - (OLD.outcome <> 'ok'),
        retried = retried - (OLD.attempt > 1 OR OLD.route_index > 0),
        input_tokens = input_tokens - OLD.input_tokens,
        cached_tokens = cached_tokens - OLD.cached_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cost_usd = MAX(cost_usd - IFNULL(OLD.cost_usd, 0), 0),
        unknown_cost_calls = unknown_cost_calls - (OLD.cost_usd IS NULL),
        latency_ms_sum = latency_ms_sum - OLD.latency_ms,
        ttft_ms_sum = ttft_ms_sum - IFNULL(OLD.ttft_ms, 0),
        ttft_calls = ttft_calls - (OLD.ttft_ms IS NOT NULL)
    WHERE day = OLD.created_at / 86400000 AND project_id = IFNULL(OLD.project_id, 0)
      AND provider = OLD.provider AND model = OLD.model AND role = OLD.role;
    DELETE FROM llm_usage_daily
    WHERE day = OLD.created_at / 86400000 AND project_id = IFNULL(OLD.project_id, 0)
      AND provider = OLD.provider AND model = OLD.model AND role = OLD.role AND requests <= 0;
END;

-- An update (forgetting a project sets project_id to NULL) moves the call between roll-up rows.
CREATE TRIGGER llm_usage_daily_update AFTER UPDATE ON llm_calls
BEGIN
    UPDATE llm_usage_daily SET
        requests = requests - 1,
        ok = ok - (OLD.outcome = 'ok'),
        failed = failed - (OLD.outcome <> 'ok'),
        retried = retried - (OLD.attempt > 1 OR OLD.route_index > 0),
        input_tokens = input_tokens - OLD.input_tokens,
        cached_tokens = cached_tokens - OLD.cached_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cost_usd = MAX(cost_usd - IFNULL(OLD.cost_usd, 0), 0),
        unknown_cost_calls = unknown_cost_calls - (OLD.cost_usd IS NULL),
        latency_ms_sum = latency_ms_sum - OLD.latency_ms,
        ttft_ms_sum = ttft_ms_sum - IFNULL(OLD.ttft_ms, 0),
        ttft_calls = ttft_calls - (OLD.ttft_ms IS NOT NULL)
    WHERE day = OLD.created_at / 86400000 AND project_id = IFNULL(OLD.project_id, 0)
      AND provider = OLD.provider AND model = OLD.model AND role = OLD.role;
    DELETE FROM llm_usage_daily
    WHERE day = OLD.created_at / 86400000 AND project_id = IFNULL(OLD.project_id, 0)
      AND provider = OLD.provider AND model = OLD.model AND role = OLD.role AND requests <= 0;
    INSERT INTO llm_usage_daily VALUES (
        NEW.created_at / 86400000, IFNULL(NEW.project_id, 0), NEW.role, NEW.provider, NEW.model,
        1, NEW.outcome = 'ok', NEW.outcome <> 'ok', NEW.attempt > 1 OR NEW.route_index > 0,
        NEW.input_tokens, NEW.cached_tokens, NEW.output_tokens,
        IFNULL(NEW.cost_usd, 0), NEW.cost_usd IS NULL,
        NEW.latency_ms, IFNULL(NEW.ttft_ms, 0), NEW.ttft_ms IS NOT NULL)
    ON CONFLICT (day, project_id, provider, model, role) DO UPDATE SET
        requests = requests + 1,
        ok = ok + excluded.ok,
        failed = failed + excluded.failed,
        retried = retried + excluded.retried,
        input_tokens = input_tokens + excluded.input_tokens,
        cached_tokens = cached_tokens + excluded.cached_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_usd = cost_usd + excluded.cost_usd,
        unknown_cost_calls = unknown_cost_calls + excluded.unknown_cost_calls,
        latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
        ttft_ms_sum = ttft_ms_sum + excluded.ttft_ms_sum,
        ttft_calls = ttft_calls + excluded.ttft_calls;
END;
