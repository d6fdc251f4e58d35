-- Campaigns the live detector found, with what was done about them.
CREATE TABLE campaigns (
    id           TEXT    PRIMARY KEY,
    -- open | applied | dismissed
    status       TEXT    NOT NULL,
    detected_at  BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    -- The detector's report (JSON), refreshed as members join.
    report       TEXT    NOT NULL,
    -- JSON list of the accounts the automatic response restricted.
    restricted   TEXT    NOT NULL DEFAULT '[]'
);

-- Registrations from a domain held to `per_hour` until `until` (the automatic response to a
-- campaign's registration burst).
CREATE TABLE domain_throttles (
    domain    TEXT    PRIMARY KEY,
    until     BIGINT  NOT NULL,
    per_hour  BIGINT NOT NULL,
    reason    TEXT    NOT NULL
);
