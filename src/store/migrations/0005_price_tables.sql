-- Every call says which price table priced it, and a provider-reported cost keeps the table's
-- figure beside it. The daily roll-up gains the same split (cost_source, price_table) so
-- `usage --by price` reads it, plus the sums that show where a provider and the table disagree.

-- The table (source and version, e.g. 'models.dev 1.0.398'), 'config' or 'free' whose price
-- made cost_usd; for cost_source 'provider', the table the reported cost was checked against.
-- NULL: no price known, or recorded before this migration.
ALTER TABLE llm_calls ADD COLUMN price_table TEXT;
-- For cost_source 'provider': the table's cost of the same tokens (NULL: the table does not
-- know the model).
ALTER TABLE llm_calls ADD COLUMN table_cost_usd REAL
    CHECK (table_cost_usd IS NULL OR table_cost_usd >= 0);

DROP TRIGGER llm_usage_daily_insert;
DROP TRIGGER llm_usage_daily_delete;
DROP TRIGGER llm_usage_daily_update;

CREATE TABLE llm_usage_daily_v4 (
    day                INTEGER NOT NULL,            -- created_at / 86400000 (UTC day number)
    project_id         INTEGER NOT NULL DEFAULT 0,  -- 0: no project (or a forgotten one)
    role               TEXT    NOT NULL,
    provider           TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    cost_source        TEXT    NOT NULL,
    price_table        TEXT    NOT NULL DEFAULT '', -- '': llm_calls.price_table is NULL
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
    checked_calls      INTEGER NOT NULL DEFAULT 0,  -- provider-priced calls the table also priced
    checked_provider_usd REAL  NOT NULL DEFAULT 0,  -- what the provider reported for them
    checked_table_usd  REAL    NOT NULL DEFAULT 0,  -- what the table says for them
    disagreeing_calls  INTEGER NOT NULL DEFAULT 0,  -- of them, off by more than 1% and $0.000001
    PRIMARY KEY (day, project_id, provider, model, role, cost_source, price_table)
) STRICT, WITHOUT ROWID;

INSERT INTO llm_usage_daily_v4
SELECT created_at / 86400000, IFNULL(project_id, 0), role, provider, model, cost_source,
       IFNULL(price_table, ''),
       COUNT(*), SUM(outcome = 'ok'), SUM(outcome <> 'ok'), SUM(attempt > 1 OR route_index > 0),
       SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens),
       TOTAL(cost_usd), COUNT(*) - COUNT(cost_usd),
       SUM(latency_ms), IFNULL(SUM(ttft_ms), 0), COUNT(ttft_ms),
       0, 0, 0, 0
FROM llm_calls
GROUP BY 1, 2, 3, 4, 5, 6, 7;

DROP TABLE llm_usage_daily;
ALTER TABLE llm_usage_daily_v4 RENAME TO llm_usage_daily;
CREATE INDEX llm_usage_daily_project ON llm_usage_daily (project_id, day);

-- One call's contribution is inserted or added by `excluded`; the checked_* sums count a call
-- whose cost the provider reported and the table could also price.
CREATE TRIGGER llm_usage_daily_insert AFTER INSERT ON llm_calls
BEGIN
    INSERT INTO llm_usage_daily VALUES (
        NEW.created_at / 86400000, IFNULL(NEW.project_id, 0), NEW.role, NEW.provider, NEW.model,
        NEW.cost_source, IFNULL(NEW.price_table, ''),
        1, NEW.outcome = 'ok', NEW.outcome <> 'ok', NEW.attempt > 1 OR NEW.route_index > 0,
        NEW.input_tokens, NEW.cached_tokens, NEW.output_tokens,
        IFNULL(NEW.cost_usd, 0), NEW.cost_usd IS NULL,
        NEW.latency_ms, IFNULL(NEW.ttft_ms, 0), NEW.ttft_ms IS NOT NULL,
        NEW.table_cost_usd IS NOT NULL AND NEW.cost_usd IS NOT NULL,
        IIF(NEW.table_cost_usd IS NOT NULL AND NEW.cost_usd IS NOT NULL, NEW.cost_usd, 0),
        IIF(NEW.table_cost_usd IS NOT NULL AND NEW.cost_usd IS NOT NULL, NEW.table_cost_usd, 0),
        NEW.table_cost_usd IS NOT NULL AND NEW.cost_usd IS NOT NULL
            AND ABS(NEW.cost_usd - NEW.table_cost_usd)
                > MAX(0.000001, 0.01 * MAX(NEW.cost_usd, NEW.table_cost_usd)))
    ON CONFLICT (day, project_id, provider, model, role, cost_source, price_table) DO UPDATE SET
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
        ttft_calls = ttft_calls + excluded.ttft_calls,
        checked_calls = checked_calls + excluded.checked_calls,
        checked_provider_usd = checked_provider_usd + excluded.checked_provider_usd,
        checked_table_usd = checked_table_usd + excluded.checked_table_usd,
        disagreeing_calls = disagreeing_calls + excluded.disagreeing_calls;
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
        ttft_calls = ttft_calls - (OLD.ttft_ms IS NOT NULL),
        checked_calls = checked_calls
            - (OLD.table_cost_usd IS NOT NULL AND OLD.cost_usd IS NOT NULL),
        checked_provider_usd = MAX(checked_provider_usd
            - IIF(OLD.table_cost_usd IS NOT NULL AND OLD.cost_usd IS NOT NULL, OLD.cost_usd, 0), 0),
        checked_table_usd = MAX(checked_table_usd
            - IIF(OLD.table_cost_usd IS NOT NULL AND OLD.cost_usd IS NOT NULL, OLD.table_cost_usd, 0), 0),
        disagreeing_calls = disagreeing_calls
            - (OLD.table_cost_usd IS NOT NULL AND OLD.cost_usd IS NOT NULL
               AND ABS(OLD.cost_usd - OLD.table_cost_usd)
                   > MAX(0.000001, 0.01 * MAX(OLD.cost_usd, OLD.table_cost_usd)))
    WHERE day = OLD.created_at / 86400000 AND project_id = IFNULL(OLD.project_id, 0)
      AND provider = OLD.provider AND model = OLD.model AND role = OLD.role
      AND cost_source = OLD.cost_source AND price_table = IFNULL(OLD.price_table, '');
    DELETE FROM llm_usage_daily
    WHERE day = OLD.created_at / 86400000 AND project_id = IFNULL(OLD.project_id, 0)
      AND provider = OLD.provider AND model = OLD.model AND role = OLD.role
      AND cost_source = OLD.cost_source AND price_table = IFNULL(OLD.price_table, '')
      AND requests <= 0;
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
        ttft_calls = ttft_calls - (OLD.ttft_ms IS NOT NULL),
        checked_calls = checked_calls
            - (OLD.table_cost_usd IS NOT NULL AND OLD.cost_usd IS NOT NULL),
        checked_provider_usd = MAX(checked_provider_usd
            - IIF(OLD.table_cost_usd IS NOT NULL AND OLD.cost_usd IS NOT NULL, OLD.cost_usd, 0), 0),
        checked_table_usd = MAX(checked_table_usd
            - IIF(OLD.table_cost_usd IS NOT NULL AND OLD.cost_usd IS NOT NULL, OLD.table_cost_usd, 0), 0),
        disagreeing_calls = disagreeing_calls
            - (OLD.table_cost_usd IS NOT NULL AND OLD.cost_usd IS NOT NULL
               AND ABS(OLD.cost_usd - OLD.table_cost_usd)
                   > MAX(0.000001, 0.01 * MAX(OLD.cost_usd, OLD.table_cost_usd)))
    WHERE day = OLD.created_at / 86400000 AND project_id = IFNULL(OLD.project_id, 0)
      AND provider = OLD.provider AND model = OLD.model AND role = OLD.role
      AND cost_source = OLD.cost_source AND price_table = IFNULL(OLD.price_table, '');
    DELETE FROM llm_usage_daily
    WHERE day = OLD.created_at / 86400000 AND project_id = IFNULL(OLD.project_id, 0)
      AND provider = OLD.provider AND model = OLD.model AND role = OLD.role
      AND cost_source = OLD.cost_source AND price_table = IFNULL(OLD.price_table, '')
      AND requests <= 0;
    INSERT INTO llm_usage_daily VALUES (
        NEW.created_at / 86400000, IFNULL(NEW.project_id, 0), NEW.role, NEW.provider, NEW.model,
        NEW.cost_source, IFNULL(NEW.price_table, ''),
        1, NEW.outcome = 'ok', NEW.outcome <> 'ok', NEW.attempt > 1 OR NEW.route_index > 0,
        NEW.input_tokens, NEW.cached_tokens, NEW.output_tokens,
        IFNULL(NEW.cost_usd, 0), NEW.cost_usd IS NULL,
        NEW.latency_ms, IFNULL(NEW.ttft_ms, 0), NEW.ttft_ms IS NOT NULL,
        NEW.table_cost_usd IS NOT NULL AND NEW.cost_usd IS NOT NULL,
        IIF(NEW.table_cost_usd IS NOT NULL AND NEW.cost_usd IS NOT NULL, NEW.cost_usd, 0),
        IIF(NEW.table_cost_usd IS NOT NULL AND NEW.cost_usd IS NOT NULL, NEW.table_cost_usd, 0),
        NEW.table_cost_usd IS NOT NULL AND NEW.cost_usd IS NOT NULL
            AND ABS(NEW.cost_usd - NEW.table_cost_usd)
                > MAX(0.000001, 0.01 * MAX(NEW.cost_usd, NEW.table_cost_usd)))
    ON CONFLICT (day, project_id, provider, model, role, cost_source, price_table) DO UPDATE SET
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
        ttft_calls = ttft_calls + excluded.ttft_calls,
        checked_calls = checked_calls + excluded.checked_calls,
        checked_provider_usd = checked_provider_usd + excluded.checked_provider_usd,
        checked_table_usd = checked_table_usd + excluded.checked_table_usd,
        disagreeing_calls = disagreeing_calls + excluded.disagreeing_calls;
END;
