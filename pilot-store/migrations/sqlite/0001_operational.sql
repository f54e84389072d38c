-- Operational state of the Pilot server. Times are Unix milliseconds.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    last_seen_ms INTEGER,
    system_info TEXT,
    created_ms INTEGER NOT NULL
);

CREATE TABLE projects (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    public_port INTEGER UNIQUE,
    status TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE project_nodes (
    project TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
    node TEXT NOT NULL REFERENCES nodes (name) ON DELETE CASCADE,
    PRIMARY KEY (project, node)
);

CREATE TABLE deployments (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
    node TEXT NOT NULL,
    state TEXT NOT NULL,
    generation INTEGER NOT NULL,
    version TEXT,
    reason TEXT,
    created_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    record TEXT NOT NULL
);
CREATE INDEX deployments_by_project ON deployments (project, created_ms);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_by_target ON audit_log (target, id);

CREATE TABLE alert_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    condition TEXT NOT NULL,
    for_ms INTEGER NOT NULL,
    webhook_url TEXT,
    enabled BOOLEAN NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id INTEGER NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    value DOUBLE PRECISION,
    message TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    resolved_ms INTEGER
);
CREATE INDEX alert_events_open ON alert_events (rule_id, subject, resolved_ms);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
