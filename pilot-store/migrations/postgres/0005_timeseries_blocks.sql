-- Raw samples in blocks: one row holds one window of the series of one node
-- (up to 64 series per row, ids first_series..=last_series), with the
-- timestamps the series share stored once. ts_chunks keeps rollup tiers
-- (tier > 0); its raw rows (tier 0) come from earlier versions and are read
-- until retention removes them or a late sample moves them into a block.
CREATE TABLE ts_blocks (
    node TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    first_series BIGINT NOT NULL,
    last_series BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    samples BIGINT NOT NULL,
    payload BYTEA NOT NULL,
    tail BYTEA NOT NULL DEFAULT ''::bytea,
    PRIMARY KEY (node, start_ms, first_series)
);
ALTER TABLE ts_chunks ADD COLUMN tail BYTEA NOT NULL DEFAULT ''::bytea;

-- A payload is `payload || tail`: `payload` holds whole TOAST chunks (1996
-- bytes each), `tail` the rest, inline in the row. TOAST then only stores
-- full chunks, four per page, instead of a partial last chunk per value that
-- leaves most of a chunk's room unused (about 10% more space for 17 KB
-- values). Payloads are already compressed: keep TOAST from trying again.
ALTER TABLE ts_blocks ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE ts_blocks ALTER COLUMN tail SET STORAGE PLAIN;
ALTER TABLE ts_chunks ALTER COLUMN tail SET STORAGE PLAIN;

-- The newest sample of each series once it left the head (value as IEEE
-- bits, so NaN payloads survive), for the latest values after a restart.
ALTER TABLE ts_series ADD COLUMN last_ms BIGINT;
ALTER TABLE ts_series ADD COLUMN last_bits BIGINT;
