-- Where a project's releases come from, and whether its config was set by a
-- user (pinned: sent with every deploy) or read from the source.
ALTER TABLE projects ADD COLUMN source TEXT NOT NULL DEFAULT '{"type":"upload"}';
ALTER TABLE projects ADD COLUMN config_pinned BOOLEAN NOT NULL DEFAULT FALSE;
