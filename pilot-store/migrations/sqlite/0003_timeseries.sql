-- Timeseries engine: series identities, the durable head (recent samples in
-- encoded batches) and compressed chunks (tier 0 = raw samples, otherwise the
-- rollup bucket width in ms).
CREATE TABLE ts_series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node TEXT NOT NULL,
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    UNIQUE (node, name, labels)
);

CREATE TABLE ts_head (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    min_ts INTEGER NOT NULL,
    max_ts INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    payload BLOB NOT NULL
);

-- A rowid table: its leaf pages hold payloads of a few KB whole, and
-- overflow pages are filled completely (a WITHOUT ROWID table would keep at
-- most ~1 KB in the leaf and leave the last overflow page partly empty).
CREATE TABLE ts_chunks (
    series_id INTEGER NOT NULL REFERENCES ts_series (id) ON DELETE CASCADE,
    tier INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    points INTEGER NOT NULL,
    payload BLOB NOT NULL,
    UNIQUE (series_id, tier, start_ms)
);
