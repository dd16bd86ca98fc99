-- Sign-In with Ethereum: the nonces the server issued. A nonce is deleted
-- when a message naming it is accepted (one statement, so it is spent once
-- across replicas), and swept once expired.
CREATE TABLE siwe_nonce (
    nonce         TEXT   PRIMARY KEY CHECK (length(nonce) = 32),
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX siwe_nonce_expiry ON siwe_nonce (expires_at_ms);
