-- E-mail domains whose addresses can't register or be added (registrable domains, lowercase).
CREATE TABLE prohibited_domains (
    domain      TEXT    PRIMARY KEY,
    reason      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    -- NULL: until allowed again.
    expires_at  BIGINT
);
