-- Each command's sandbox ('workspace-write', 'read-only', 'off', with '+network' when it had
-- the network; NULL for commands recorded before this version), and the process group of the
-- command a run is running, so the next run can kill it if samocoder died.
ALTER TABLE commands ADD COLUMN sandbox TEXT;
ALTER TABLE runs ADD COLUMN command_group TEXT;
