-- Secrets, AES-256-GCM encrypted. `node` is '' for the project-wide value.
CREATE TABLE secrets (
    project TEXT NOT NULL,
    node TEXT NOT NULL,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (project, node, name)
);
