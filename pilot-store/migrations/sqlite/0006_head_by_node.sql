-- Head rows name the node their samples come from (one row per node and
-- window of a write), so that a head too large to keep in memory can be
-- read and compacted node by node from disk. Rows of earlier versions have
-- no node; the store rewrites them when it opens.
ALTER TABLE ts_head ADD COLUMN node TEXT;
CREATE INDEX ts_head_node ON ts_head (node, max_ts);
