-- picket's registry schema. Times are milliseconds since the Unix epoch (BIGINT) and booleans are
-- integers, so the same tables and queries carry over to PostgreSQL with only the id columns
-- changing (INTEGER PRIMARY KEY -> BIGSERIAL).

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT    NOT NULL UNIQUE,
    email           TEXT    NOT NULL,
    email_verified  INTEGER NOT NULL DEFAULT 0,
    password_hash   TEXT    NOT NULL,
    totp_secret     TEXT,
    is_admin        INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL
);

CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    token_hash    TEXT    NOT NULL UNIQUE,
    -- JSON: "user" or a list of normalized project names.
    scope         TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    normalized  TEXT    NOT NULL UNIQUE,
    skeleton    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX projects_skeleton ON projects (skeleton);

CREATE TABLE project_owners (
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (project_id, user_id)
);

CREATE TABLE releases (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL REFERENCES projects (id),
    version        TEXT    NOT NULL,
    yanked         INTEGER NOT NULL DEFAULT 0,
    yanked_reason  TEXT,
    created_at     BIGINT  NOT NULL,
    UNIQUE (project_id, version)
);

CREATE TABLE files (
    id               INTEGER PRIMARY KEY,
    release_id       INTEGER NOT NULL REFERENCES releases (id),
    filename         TEXT    NOT NULL UNIQUE,
    packagetype      TEXT    NOT NULL,
    sha256           TEXT    NOT NULL,
    size             BIGINT  NOT NULL,
    requires_python  TEXT,
    uploaded_by      INTEGER REFERENCES users (id),
    upload_time      BIGINT  NOT NULL
);

-- The event journal (see the campaign-detection issue for the kinds and their fields).
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    time       BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,
    user_name  TEXT,
    ip         TEXT,
    -- The kind's own fields, as a JSON object.
    data       TEXT    NOT NULL
);
CREATE INDEX events_time ON events (time);
