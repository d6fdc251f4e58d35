-- Whether a login session was opened with a second factor: admin actions over HTTP take only
-- such sessions.
ALTER TABLE sessions ADD COLUMN mfa BIGINT NOT NULL DEFAULT 0;
-- When an administrator released the project from quarantine (reviewed it). A project that holds a
-- popular name counts as its owner's own, exempting look-alikes and commands of that name, only
-- once reviewed.
ALTER TABLE projects ADD COLUMN reviewed_at BIGINT;
