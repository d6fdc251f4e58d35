-- Registry defenses: quarantine, prohibited names, rate limits, domain sign-up history, learned
-- commands, added e-mail addresses, MX matching of prohibited domains.

-- A quarantined project or release is invisible to installers. `quarantine_evidence` is JSON.
ALTER TABLE projects ADD COLUMN quarantined_at BIGINT;
ALTER TABLE projects ADD COLUMN quarantine_reason TEXT;
ALTER TABLE projects ADD COLUMN quarantine_evidence TEXT;
ALTER TABLE releases ADD COLUMN quarantined_at BIGINT;
ALTER TABLE releases ADD COLUMN quarantine_reason TEXT;
ALTER TABLE releases ADD COLUMN quarantine_evidence TEXT;

-- An account whose new uploads are quarantined whatever the gate says (set by admins, and by the
-- campaign detector).
ALTER TABLE users ADD COLUMN restricted BIGINT NOT NULL DEFAULT 0;
-- The registrable domain of the primary address, for the per-domain policies.
ALTER TABLE users ADD COLUMN email_domain TEXT;

-- Names no one may create (normalized), e.g. after `remove-project --prohibit-name`.
CREATE TABLE prohibited_names (
    normalized  TEXT    PRIMARY KEY,
    reason      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- Also refuse addresses whose domain's mail servers belong to this domain.
ALTER TABLE prohibited_domains ADD COLUMN match_mx BIGINT NOT NULL DEFAULT 0;

-- Rate limits as GCRA: per key, the theoretical arrival time of the next request (ms).
CREATE TABLE rate_limits (
    key  TEXT    PRIMARY KEY,
    tat  BIGINT  NOT NULL
);

-- Sign-ups per registrable e-mail domain in 10-minute buckets: the baseline the velocity limit
-- compares a domain's current rate with.
CREATE TABLE domain_signups (
    domain  TEXT    NOT NULL,
    bucket  BIGINT  NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (domain, bucket)
);

-- Commands (console/GUI scripts) seen in stored wheels, and the project that first installed each.
CREATE TABLE commands (
    command     TEXT    PRIMARY KEY,
    project     TEXT    NOT NULL,
    first_seen  BIGINT  NOT NULL
);

-- Addresses added to an account after registration.
CREATE TABLE user_emails (
    user_id     BIGINT NOT NULL REFERENCES users (id),
    email       TEXT    NOT NULL,
    verified    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (user_id, email)
);
