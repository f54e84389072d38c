//! Opening WebSockets to the API: `ws://` or `wss://`, the session token
//! in the handshake, refusals mapped to [`ClientError`]s.

use reqwest::Url;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};

use super::Client;
use super::error::{ClientError, Result};
use super::tls;
use crate::api::types::ErrorBody;

/// A byte stream a WebSocket runs over: plain TCP or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open WebSocket to the server.
pub(crate) type Socket = WebSocketStream<Box<dyn Io>>;

impl Client {
    /// Opens a WebSocket to an API URL (`http(s)` becomes `ws(s)`) with the
    /// session token; returns it with the URL it went to.
    pub(crate) async fn open_socket(&self, url: Url) -> Result<(Socket, String)> {
        let secure = url.scheme() == "https";
        let mut ws_url = url.clone();
        // Both schemes are valid replacements for http(s).
        let _ = ws_url.set_scheme(if secure { "wss" } else { "ws" });
        let shown = ws_url.to_string();
        let host = url.host_str().unwrap_or_default().to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let mut request = shown
            .as_str()
            .into_client_request()
            .map_err(|e| ClientError::websocket(&shown, e))?;
        if let Some(token) = &self.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                ClientError::NotLoggedIn {
                    server: self.base_url().to_string(),
                    reason: "the saved session token is not valid header text".to_string(),
                }
            })?;
            request.headers_mut().insert(header::AUTHORIZATION, value);
        }
        let host_for_connect = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tcp = TcpStream::connect((host_for_connect.as_str(), port))
            .await
            .map_err(|e| ClientError::websocket(&shown, tungstenite::Error::Io(e)))?;
        let io: Box<dyn Io> =
            if secure {
                let config = tls::client_config(&shown)?;
                let name = rustls::pki_types::ServerName::try_from(host_for_connect.clone())
                    .map_err(|e| ClientError::Tls {
                        url: shown.clone(),
                        reason: e.to_string(),
                    })?;
                let stream = TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| ClientError::websocket(&shown, tungstenite::Error::Io(e)))?;
                Box::new(stream)
            } else {
                Box::new(tcp)
            };
        match tokio_tungstenite::client_async(request, io).await {
            Ok((socket, _)) => Ok((socket, shown)),
            Err(tungstenite::Error::Http(response)) => Err(self.refusal(&shown, &response)),
            Err(e) => Err(ClientError::websocket(&shown, e)),
        }
    }

    /// The error a refused WebSocket handshake stands for.
    fn refusal(
        &self,
        url: &str,
        response: &tungstenite::http::Response<Option<Vec<u8>>>,
    ) -> ClientError {
        let status = response.status().as_u16();
        let body = response
            .body()
            .as_deref()
            .and_then(|b| serde_json::from_slice::<ErrorBody>(b).ok());
        match body {
            Some(body) if status == 401 => ClientError::NotLoggedIn {
                server: self.base_url().to_string(),
                reason: body
                    .error
                    .message
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            },
            Some(body) => ClientError::Api {
                status,
                code: body.error.code,
                message: body.error.message,
                details: body.error.details,
            },
            None => ClientError::UnexpectedResponse {
                url: url.to_string(),
                status,
                reason: "the WebSocket handshake was refused".to_string(),
            },
        }
    }
}
