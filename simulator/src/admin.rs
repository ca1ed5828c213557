//! The admin port: plain HTTP on loopback for tests and demos to watch and steer the simulator.
//!
//! `GET /stats` → JSON `Stats`; `GET /faults` → the current SPEC string; `PUT /faults` with a
//! SPEC string body → replaces the faults (`400` naming the bad key otherwise).
//! Invariant: only ever bound to a loopback address (checked by `sim::start`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::faults::FaultSpec;
use crate::sim::SimState;

pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<SimState>,
    mut stopped: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/stats", get(stats))
        .route("/faults", get(get_faults).put(put_faults))
        .with_state(state);
    let stop = async move {
        let _ = stopped.changed().await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!(error = %e, "admin server ended with an error");
    }
}

async fn stats(State(state): State<Arc<SimState>>) -> Response {
    Json(state.platform.stats()).into_response()
}

async fn get_faults(State(state): State<Arc<SimState>>) -> String {
    state.faults().to_string()
}

async fn put_faults(State(state): State<Arc<SimState>>, body: String) -> Response {
    match FaultSpec::parse(&body) {
        Ok(spec) => {
            let text = spec.to_string();
            tracing::info!(faults = %text, "faults replaced");
            state.set_faults(spec);
            (StatusCode::OK, text).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}
