//! WebSocket streams: the user-data stream ([`user`]) and mark prices ([`market`]),
//! with their wire types ([`events`]). Handlers only decode; translation is `parse.rs`.

mod event_decode;
pub(crate) mod events;
pub(crate) mod market;
pub(crate) mod user;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Connect a WebSocket with a small read buffer. tungstenite zero-fills its whole read
/// buffer before every socket read (128 KiB by default): for the venue's few-hundred-byte
/// messages that fill cost more than reading and decoding the message. A message larger
/// than the buffer still arrives whole (the buffer grows to the frame's length); the
/// message and frame size limits stay tungstenite's.
pub(crate) async fn connect(
    url: &str,
) -> Result<
    WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false).await?;
    Ok(ws)
}

/// Bytes read from the socket at a time (a user-stream message is ~0.5–1 KiB).
const READ_BUFFER: usize = 8 * 1024;
