-- The last TOTP time step a login was accepted with: a code is good once (RFC 6238 5.2), so a code
-- seen over a shoulder or phished can't open a second session within its 90-second window.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
