-- Security reports from users, reporter trust, picket's own OSV records (MAL- style), and the
-- verification time of addresses (for the domain-resurrection check).

-- Settings the server writes and `picket admin` reads (`osv-id-prefix`, the notifier's cursor).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- How far a reporter's reports are believed: blocked | normal | trusted (set by admins).
ALTER TABLE users ADD COLUMN reporter_trust TEXT NOT NULL DEFAULT 'normal';

-- A report about a project: malware | typosquat | spam | dependency-confusion | other.
CREATE TABLE reports (
    id               INTEGER PRIMARY KEY,
    project          TEXT    NOT NULL,
    normalized       TEXT    NOT NULL,
    reporter_id      INTEGER NOT NULL REFERENCES users (id),
    kind             TEXT    NOT NULL,
    -- JSON list of versions; empty: the whole project.
    versions         TEXT    NOT NULL,
    evidence         TEXT    NOT NULL,
    evidence_url     TEXT,
    -- open | confirmed | rejected | reverted
    status           TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    -- The automatic quarantine this report caused or joined, if any.
    quarantined_at   BIGINT,
    decided_at       BIGINT,
    decided_by       TEXT,
    decision_reason  TEXT,
    record_id        TEXT
);
CREATE INDEX reports_project ON reports (normalized, status);
CREATE INDEX reports_status ON reports (status, created_at);

-- picket's own OSV records: one per project held or removed as malicious. Withdrawn (never
-- deleted) when the action is reverted, so subscribers learn of the withdrawal.
CREATE TABLE malicious_records (
    id                 TEXT    PRIMARY KEY,
    seq                INTEGER NOT NULL UNIQUE,
    project            TEXT    NOT NULL,
    normalized         TEXT    NOT NULL UNIQUE,
    -- JSON list of the versions named; `whole_project` adds a range from version 0.
    versions           TEXT    NOT NULL,
    whole_project      INTEGER NOT NULL,
    summary            TEXT    NOT NULL,
    details            TEXT    NOT NULL,
    -- JSON list of {"kind": "report"|"campaign"|"removal", "id", "actor", "reason", "time"}.
    origins            TEXT    NOT NULL,
    published_at       BIGINT  NOT NULL,
    modified_at        BIGINT  NOT NULL,
    withdrawn_at       BIGINT
);

-- When each address was verified: a domain registered after that date changed hands.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
ALTER TABLE user_emails ADD COLUMN verified_at BIGINT;
-- Why an address is no longer verified (the domain check), and when its domain was last checked.
ALTER TABLE users ADD COLUMN email_unverified_reason TEXT;
CREATE TABLE domain_checks (
    domain      TEXT    PRIMARY KEY,
    checked_at  BIGINT  NOT NULL,
    -- ok | expired | re-registered | unknown | error
    outcome     TEXT    NOT NULL,
    registered  BIGINT,
    expires     BIGINT,
    detail      TEXT    NOT NULL
);
