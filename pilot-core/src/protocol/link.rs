//! Policy for what may travel over a given link.

use std::net::SocketAddr;

/// Whether secret values may be received over a connection to `peer`: only
/// when the link is encrypted (`tls`) or the peer is on the loopback
/// interface (IPv4-mapped IPv6 loopback included). An agent refuses deploy
/// commands carrying secrets otherwise.
pub fn link_allows_secrets(peer: SocketAddr, tls: bool) -> bool {
    tls || peer.ip().to_canonical().is_loopback()
}
