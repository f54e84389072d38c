-- The public port of each deployment as a column, so lists of deployments
-- (the dashboard's overview) need not read the journals.
ALTER TABLE deployments ADD COLUMN public_port INTEGER;
UPDATE deployments SET public_port = json_extract(record, '$.public_port');
