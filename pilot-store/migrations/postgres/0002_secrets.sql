-- Secrets, AES-256-GCM encrypted. `node` is '' for the project-wide value.
CREATE TABLE secrets (
    project TEXT NOT NULL,
    node TEXT NOT NULL,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (project, node, name)
);
