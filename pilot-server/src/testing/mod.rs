//! The server's test harness (feature `test-util`): [`TestServer`], the
//! server's parts assembled once over temporary stores, and [`FakeNodes`],
//! the fake of the [`NodeLink`](crate::NodeLink) seam.
//!
//! ```
//! # tokio_test_block_on(async {
//! use pilot_server::NodeLink;
//! use pilot_server::testing::TestServer;
//!
//! let server = TestServer::builder().node("web-1", true).build().await;
//! assert_eq!(server.nodes.online(), ["web-1"]);
//! # });
//! # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Runtime::new().unwrap().block_on(f)
//! # }
//! ```

mod nodes;
mod server;

pub use nodes::{FakeNodes, Responder};
pub use server::{ADMIN_PASSWORD, TestServer, TestServerBuilder, VIEWER_PASSWORD};
