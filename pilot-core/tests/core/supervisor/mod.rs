//! The embedded supervisor against real processes: environment, logs and
//! rotation, secrets, restart policy, stopping process trees, detaching and
//! re-adopting, and surviving a crash of the supervising process.

mod adoption;
mod lifecycle;
mod logs;
mod restarts;
mod support;
