//! pilot-store's integration tests, one binary: the records, secrets and
//! timeseries suites run on SQLite and PostgreSQL, plus the SQLite- and
//! PostgreSQL-specific checks and the crash tests.

mod common;

mod postgres_tls;
mod records_suite;
mod secrets_suite;
mod sqlite_checkpoint;
mod sqlite_read_only;
mod timeseries_crash;
mod timeseries_group_commit;
mod timeseries_props;
mod timeseries_suite;
