//! The preflight probe of the WS API: the socket opens and the venue accepts the key on
//! it — `session.logon` for an Ed25519 key, else a signed `order.status` for a client
//! order id that does not exist (the venue's "order does not exist" proves the signature
//! was accepted; a refused key answers -1022/-2015). Places nothing.

use std::sync::Arc;
use std::time::Duration;

use super::super::audit::AuditBuffer;
use super::super::config::BinanceConfig;
use super::super::rest::endpoints::query_order_request;
use super::super::rest::RestClient;
use super::{Logon, WsApi};
use crate::domain::{ClientOrderId, Symbol};
use crate::exchange::{ErrorClass, Purpose};

/// What the probe proved, as one sentence; Err says what failed.
pub(crate) async fn probe(
    cfg: &BinanceConfig,
    symbol: &Symbol,
    within: Duration,
) -> Result<String, String> {
    let rest = Arc::new(RestClient::new(cfg, AuditBuffer::new(64)).map_err(|e| e.msg)?);
    rest.sync_clock(Purpose::Routine)
        .await
        .map_err(|e| format!("clock: {}", e.msg))?;
    let url = cfg.ws_api_url.to_string();
    let ws = WsApi::start(
        url.clone(),
        rest,
        AuditBuffer::new(64),
        cfg.venue_name.clone(),
        within,
        Duration::from_secs(3600),
    );
    if !ws.until_up(within).await {
        return Err(format!(
            "{url}: no WebSocket API connection within {within:?}"
        ));
    }
    let kind = cfg.signer.kind();
    match ws.logon() {
        Logon::Accepted => return Ok(format!("session.logon accepted ({kind} key)")),
        Logon::Refused(e) => return Err(format!("{e} ({kind} key)")),
        Logon::NotAttempted => {}
    }
    let id = ClientOrderId::new("sluice-preflight-probe").map_err(|e| e.to_string())?;
    match ws
        .send(&query_order_request(symbol, &id, Purpose::Routine))
        .await
    {
        None => Err(format!(
            "{url}: the connection dropped before the probe was sent"
        )),
        Some(Ok(_)) => Ok(format!("signed order.status accepted ({kind} key)")),
        Some(Err(e)) if matches!(e.class, ErrorClass::Auth) => Err(format!(
            "signed order.status refused: {:?} {} ({kind} key)",
            e.code, e.msg
        )),
        Some(Err(e)) if e.code.is_some_and(|c| c == -2013 || c == -2011) => Ok(format!(
            "signed order.status accepted ({kind} key; the probe id is unknown, as expected)"
        )),
        Some(Err(e)) => Err(format!("order.status: {:?} {}", e.code, e.msg)),
    }
}
