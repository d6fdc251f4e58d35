-- Accounts, credentials and the data the simple and JSON APIs serve.

ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN last_login_at BIGINT;

-- E-mail verification links; the token itself is only ever stored as its sha256.
CREATE TABLE email_verifications (
    token_hash  TEXT    PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    email       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);

-- Logged-in sessions of the account API (`pks-` tokens), stored hashed.
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);

ALTER TABLE tokens ADD COLUMN name TEXT NOT NULL DEFAULT '';
-- The first characters of the token, so a user can tell tokens apart without the secret.
ALTER TABLE tokens ADD COLUMN prefix TEXT NOT NULL DEFAULT '';

-- Core metadata of the release (JSON of the first uploaded file's METADATA/PKG-INFO).
ALTER TABLE releases ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE releases ADD COLUMN requires_python TEXT;

-- PEP 658: sha256 of the wheel's METADATA file, served as FILE.metadata.
ALTER TABLE files ADD COLUMN metadata_sha256 TEXT;
ALTER TABLE files ADD COLUMN md5 TEXT;
ALTER TABLE files ADD COLUMN blake2_256 TEXT;
-- The inspector's summary of the archive (JSON).
ALTER TABLE files ADD COLUMN inspection TEXT NOT NULL DEFAULT '{}';
CREATE INDEX files_release ON files (release_id);
CREATE INDEX releases_project ON releases (project_id);

-- Every filename ever uploaded: a removed file's name can never be reused with other content.
CREATE TABLE filename_registry (
    filename  TEXT PRIMARY KEY,
    sha256    TEXT NOT NULL
);

-- Usernames are unique regardless of case, as on PyPI.
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));
CREATE INDEX events_kind_time ON events (kind, time);
