//! Helpers for tests of pilot-core and of code built on it (feature
//! `test-util`):
//!
//! - fakes of every trait ([`FakeRuntime`], [`FakeBuilder`],
//!   [`FakeServiceManager`], [`FakeRouter`], [`FakeMetricsSink`]);
//! - the rule for tests that need a real component such as Nix, PostgreSQL
//!   or promtool ([`unavailable`], [`ensure_component`], [`run_setup`],
//!   [`setup_script`]): when the component is missing, the test fails under
//!   `CI=true` and is skipped with a message elsewhere.

mod components;
mod fakes;

pub use components::{ensure_component, run_setup, setup_script, unavailable};
pub use fakes::{FakeBuilder, FakeMetricsSink, FakeRouter, FakeRuntime, FakeServiceManager};
