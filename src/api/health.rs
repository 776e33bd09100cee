//! Liveness and readiness.
//!
//! `/healthz` says the process answers. `/readyz` says whether sluice may trade now and,
//! when not, why (starting, reconciling, key-loss safe mode...), so an operator and
//! systemd see the same state.

use std::sync::Mutex;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::ApiState;

/// The daemon's readiness, set by startup and the supervision loops.
#[derive(Debug)]
pub struct Readiness {
    state: Mutex<(bool, String)>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            state: Mutex::new((false, "starting".to_string())),
        }
    }
}

impl Readiness {
    pub fn set_ready(&self) {
        self.set(true, "ready");
    }
    pub fn set_not_ready(&self, reason: &str) {
        self.set(false, reason);
    }
    fn set(&self, ready: bool, reason: &str) {
        // A poisoned lock only means a panic elsewhere; readiness must still be reportable.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *guard = (ready, reason.to_string());
    }
    pub fn get(&self) -> (bool, String) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<ApiState>) -> (StatusCode, Json<Value>) {
    let (ready, reason) = state.readiness.get();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(json!({ "ready": ready, "reason": reason })))
}
