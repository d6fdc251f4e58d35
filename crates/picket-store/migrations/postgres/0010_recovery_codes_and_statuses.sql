-- TOTP recovery codes: made at enrolment (and again on request), each usable once instead of a
-- TOTP code; stored as their sha256, like tokens.
CREATE TABLE recovery_codes (
    user_id     BIGINT NOT NULL REFERENCES users (id),
    code_hash   TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- A project's PEP 792 status set by its owners: NULL (active), 'archived' or 'deprecated'
-- ('quarantined' is the quarantine columns'), with the reason shown beside it.
ALTER TABLE projects ADD COLUMN status TEXT;
ALTER TABLE projects ADD COLUMN status_reason TEXT;
