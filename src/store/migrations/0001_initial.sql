-- Schema version 1. Documented column by column in docs/schema.md.
-- Timestamps are INTEGER unix milliseconds (UTC); JSON columns are TEXT checked by json_valid.

CREATE TABLE projects (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    dir          TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL DEFAULT 'new'
                 CHECK (status IN ('new', 'running', 'paused', 'done', 'failed', 'budget_exhausted')),
    spec         TEXT,
    architecture TEXT    CHECK (architecture IS NULL OR json_valid(architecture)),
    template     TEXT,
    budget_usd   REAL    CHECK (budget_usd IS NULL OR budget_usd >= 0),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER REFERENCES projects(id) ON DELETE SET NULL,
    command      TEXT    NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    status       TEXT    NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'ok', 'failed', 'usage_error', 'budget_exhausted',
                                   'no_provider', 'interrupted')),
    exit_code    INTEGER,
    max_cost_usd REAL    CHECK (max_cost_usd IS NULL OR max_cost_usd >= 0),
    pid          INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_project ON runs (project_id, started_at);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    iteration   INTEGER NOT NULL DEFAULT 1 CHECK (iteration >= 1),
    ordinal     INTEGER NOT NULL,
    title       TEXT    NOT NULL,
    goal        TEXT    NOT NULL DEFAULT '',
    files       TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(files)),
    verify      TEXT,
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'in_progress', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error  TEXT,
    checkpoint  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (project_id, iteration, ordinal)
) STRICT;

CREATE TABLE steps (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    task_id     INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    created_at  INTEGER NOT NULL,
    UNIQUE (project_id, seq)
) STRICT;
CREATE INDEX steps_run ON steps (run_id);
CREATE INDEX steps_task ON steps (task_id);

CREATE TABLE llm_calls (
    id                 INTEGER PRIMARY KEY,
    run_id             INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    project_id         INTEGER REFERENCES projects(id) ON DELETE SET NULL,
    step_id            INTEGER REFERENCES steps(id) ON DELETE SET NULL,
    role               TEXT    NOT NULL,
    provider           TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    route_index        INTEGER NOT NULL DEFAULT 0 CHECK (route_index >= 0),
    attempt            INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    outcome            TEXT    NOT NULL CHECK (outcome IN ('ok', 'error', 'cancelled', 'truncated')),
    error_class        TEXT,
    http_status        INTEGER,
    input_tokens       INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens      INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cached_tokens      INTEGER NOT NULL DEFAULT 0 CHECK (cached_tokens >= 0),
    cache_write_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
    cost_usd           REAL    CHECK (cost_usd IS NULL OR cost_usd >= 0),
    cost_source        TEXT    NOT NULL
                       CHECK (cost_source IN ('table', 'provider', 'override', 'unknown')),
    usage_estimated    INTEGER NOT NULL DEFAULT 0 CHECK (usage_estimated IN (0, 1)),
    latency_ms         INTEGER NOT NULL DEFAULT 0,
    ttft_ms            INTEGER,
    request_bytes      INTEGER NOT NULL DEFAULT 0,
    call_key           TEXT    UNIQUE,
    created_at         INTEGER NOT NULL
) STRICT;
-- Covering indexes: usage reports and per-project totals read only the index, never the table.
CREATE INDEX llm_calls_created ON llm_calls
    (created_at, provider, model, project_id, cost_usd, input_tokens, output_tokens, cached_tokens);
CREATE INDEX llm_calls_project ON llm_calls
    (project_id, created_at, cost_usd, input_tokens, output_tokens, cached_tokens);
CREATE INDEX llm_calls_model ON llm_calls
    (provider, model, created_at, cost_usd, input_tokens, output_tokens, cached_tokens);
CREATE INDEX llm_calls_run ON llm_calls (run_id);
CREATE INDEX llm_calls_step ON llm_calls (step_id);

CREATE TABLE files (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    path        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL CHECK (length(sha256) = 64),
    size        INTEGER NOT NULL CHECK (size >= 0),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, path)
) STRICT, WITHOUT ROWID;

CREATE TABLE commands (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    run_id      INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    task_id     INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
    command     TEXT    NOT NULL,
    approval    TEXT    NOT NULL CHECK (approval IN ('auto', 'user', 'denied', 'recorded')),
    exit_code   INTEGER,
    timed_out   INTEGER NOT NULL DEFAULT 0 CHECK (timed_out IN (0, 1)),
    duration_ms INTEGER NOT NULL DEFAULT 0,
    output      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX commands_project ON commands (project_id, created_at);
CREATE INDEX commands_run ON commands (run_id);
CREATE INDEX commands_task ON commands (task_id);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    project_id  INTEGER REFERENCES projects(id) ON DELETE SET NULL,
    action      TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_project ON audit (project_id);

-- The audit log is append-only: rows are never changed or removed, except that forgetting a
-- project clears the project_id of its entries (the foreign key's ON DELETE SET NULL).
CREATE TRIGGER audit_no_update BEFORE UPDATE OF id, at, action, detail ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_relink BEFORE UPDATE OF project_id ON audit
WHEN NEW.project_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
