//! The server's tests, as modules of one binary: the REST API and
//! WebSocket (`api_*`), the client and the CLI, deploy orchestration, the
//! agent listener (`hub_*`), and real processes end to end (`e2e_*`).

mod support;

mod api_auth;
mod api_deploys;
mod api_live;
mod api_projects;
mod api_uploads;
mod api_webhook;
mod cli;
mod client;
mod deploy;
mod e2e_cli;
mod e2e_outage;
mod e2e_up;
mod hub_admission;
mod hub_commands;
mod hub_metrics;
