//! pilot-agent's integration tests, one binary: the `pilot-agent` binary,
//! commands end to end, the link against a fake server, and metrics across
//! outages.

mod support;

mod binary;
mod commands;
mod link;
mod metrics_outage;
