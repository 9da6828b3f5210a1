-- Schema version 0006 (the lead renumbers on merge): the stat cache of `files`, and leaner
-- indexes on llm_calls. Documented in docs/schema.md.

-- The metadata each file had when its hash was taken, so a scan of an unchanged tree costs one
-- lstat per file and no read. NULL: unknown (never scanned, written by a tool, or changed too
-- recently to trust), so the next scan reads the file.
ALTER TABLE files ADD COLUMN mtime_ns INTEGER;
ALTER TABLE files ADD COLUMN ctime_ns INTEGER;
ALTER TABLE files ADD COLUMN inode INTEGER;

-- The three covering indexes carried summed columns for reports that now read the daily
-- roll-up (`usage`, `projects`, `show`, project budgets). What still reads llm_calls:
-- - usage's partial days at the ends of a range: a range on created_at, within one project
--   for `usage --project`;
-- - forgetting a project (ON DELETE SET NULL): the rows of one project_id;
-- - run budgets and a run's totals: run_id (kept, as are step_id and call_key).
DROP INDEX llm_calls_created;
DROP INDEX llm_calls_project;
DROP INDEX llm_calls_model;
CREATE INDEX llm_calls_created ON llm_calls (created_at);
CREATE INDEX llm_calls_project ON llm_calls (project_id, created_at);
