-- Schema version 3: a step's conversation thread is a column with an index, so a model turn
-- reads only its own thread (before, every turn ran json_extract over all of the project's
-- steps). Steps written before keep the thread in their payload; it is copied here.

ALTER TABLE steps ADD COLUMN thread TEXT NOT NULL DEFAULT '';
UPDATE steps SET thread = IFNULL(json_extract(payload, '$.thread'), '');
CREATE INDEX steps_thread ON steps (project_id, thread, seq);
CREATE INDEX steps_kind ON steps (project_id, kind, seq);
