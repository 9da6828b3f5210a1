-- Adopted repositories and the provenance log (documented in docs/schema.md).
--
-- `adoptions`: a project made from a directory the user already had (`new --here`). samocoder
-- works there on a branch of its own and switches the directory back when a run ends.
--
-- `provenance`: what was done for a project (runs, files written, commands, checkpoints, the
-- spec, plans, estimates, branch switches), append-only, and kept when the project is
-- forgotten (rows are found again by the project's name and creation time). Model calls are
-- not copied here: the log reads them from `llm_calls` through the runs these rows name.

CREATE TABLE adoptions (
    project_id   INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    base_branch  TEXT,
    base_commit  TEXT    NOT NULL,
    branch       TEXT    NOT NULL,
    initialized  INTEGER NOT NULL DEFAULT 0 CHECK (initialized IN (0, 1)),
    return_to    TEXT,
    user_changes TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(user_changes)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE provenance (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    project_id      INTEGER REFERENCES projects(id) ON DELETE SET NULL,
    project_name    TEXT    NOT NULL,
    project_created INTEGER NOT NULL,
    run_id          INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    task            TEXT,
    kind            TEXT    NOT NULL
                    CHECK (kind IN ('run', 'file', 'command', 'checkpoint', 'spec', 'plan',
                                    'estimate', 'adopt', 'branch')),
    detail          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;
CREATE INDEX provenance_project ON provenance (project_id, kind, id);
CREATE INDEX provenance_name ON provenance (project_name COLLATE NOCASE, project_created);
CREATE INDEX provenance_run ON provenance (run_id);

-- Append-only, like the audit log: forgetting a project only clears project_id (and a run's
-- removal its run_id; runs are never removed today).
CREATE TRIGGER provenance_no_update BEFORE UPDATE OF id, at, project_name, project_created,
    task, kind, detail ON provenance
BEGIN
    SELECT RAISE(ABORT, 'the provenance log is append-only');
END;
CREATE TRIGGER provenance_no_relink BEFORE UPDATE OF project_id, run_id ON provenance
WHEN NEW.project_id IS NOT NULL AND NEW.project_id IS NOT OLD.project_id
  OR NEW.run_id IS NOT NULL AND NEW.run_id IS NOT OLD.run_id
BEGIN
    SELECT RAISE(ABORT, 'the provenance log is append-only');
END;
CREATE TRIGGER provenance_no_delete BEFORE DELETE ON provenance
BEGIN
    SELECT RAISE(ABORT, 'the provenance log is append-only');
END;

-- What earlier versions recorded, so `log` shows the history of existing projects: their runs,
-- commands and checkpoints (file writes are recorded from this version on).
INSERT INTO provenance (at, project_id, project_name, project_created, run_id, task, kind, detail)
SELECT r.started_at, p.id, p.name, p.created_at, r.id, NULL, 'run',
       json_object('event', 'started', 'command', r.command, 'backfilled', json('true'))
FROM runs r JOIN projects p ON p.id = r.project_id;

INSERT INTO provenance (at, project_id, project_name, project_created, run_id, task, kind, detail)
SELECT r.finished_at, p.id, p.name, p.created_at, r.id, NULL, 'run',
       json_object('event', 'finished', 'command', r.command,
                   'status', CASE r.status WHEN 'ok' THEN 'done' WHEN 'usage_error' THEN 'error'
                                           ELSE r.status END,
                   'exit_code', r.exit_code, 'backfilled', json('true'))
FROM runs r JOIN projects p ON p.id = r.project_id
WHERE r.finished_at IS NOT NULL;

INSERT INTO provenance (at, project_id, project_name, project_created, run_id, task, kind, detail)
SELECT c.created_at, p.id, p.name, p.created_at, c.run_id,
       CASE WHEN t.id IS NULL THEN NULL ELSE t.iteration || '.' || t.ordinal END, 'command',
       json_object('command', c.command, 'approval', c.approval, 'exit_code', c.exit_code,
                   'timed_out', json(CASE c.timed_out WHEN 1 THEN 'true' ELSE 'false' END),
                   'duration_ms', c.duration_ms, 'sandbox', c.sandbox, 'backfilled', json('true'))
FROM commands c JOIN projects p ON p.id = c.project_id
LEFT JOIN tasks t ON t.id = c.task_id;

INSERT INTO provenance (at, project_id, project_name, project_created, run_id, task, kind, detail)
SELECT t.updated_at, p.id, p.name, p.created_at, NULL, t.iteration || '.' || t.ordinal,
       'checkpoint', json_object('commit', t.checkpoint, 'title', t.title, 'summary', '',
                                 'backfilled', json('true'))
FROM tasks t JOIN projects p ON p.id = t.project_id
WHERE t.checkpoint IS NOT NULL AND t.status = 'done'
  -- `resume --from-task` copies done tasks with their checkpoint: one entry per commit.
  AND t.id = (SELECT MIN(t2.id) FROM tasks t2
              WHERE t2.project_id = t.project_id AND t2.checkpoint = t.checkpoint);
