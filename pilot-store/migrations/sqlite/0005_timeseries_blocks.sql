-- Raw samples in blocks: one row holds one window of the series of one node
-- (up to 64 series per row, ids first_series..=last_series), with the
-- timestamps the series share stored once. ts_chunks keeps rollup tiers
-- (tier > 0); its raw rows (tier 0) come from earlier versions and are read
-- until retention removes them or a late sample moves them into a block.
-- A payload is `payload || tail`; SQLite keeps `tail` empty (see the
-- PostgreSQL migration for what it is for).
-- Rows of several KB in a rowid table: the overflow pages are full, and
-- few rows share the leaf pages.
CREATE TABLE ts_blocks (
    node TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    first_series INTEGER NOT NULL,
    last_series INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    payload BLOB NOT NULL,
    tail BLOB NOT NULL DEFAULT x'',
    PRIMARY KEY (node, start_ms, first_series)
);
ALTER TABLE ts_chunks ADD COLUMN tail BLOB NOT NULL DEFAULT x'';

-- The newest sample of each series once it left the head (value as IEEE
-- bits, so NaN payloads survive), for the latest values after a restart.
ALTER TABLE ts_series ADD COLUMN last_ms INTEGER;
ALTER TABLE ts_series ADD COLUMN last_bits INTEGER;
