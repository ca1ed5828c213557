//! The routes: `POST /v1/opamp` (agents, with the agent token), `/`, `/agent/{uid}`,
//! `/agents.json`, `/metrics` (operators, with the page token), `/healthz`.
//!
//! Pages carry a Content-Security-Policy that forbids scripts and external resources.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tsunagi_opamp::CONTENT_TYPE;

use crate::fleet::{Exchange, Fleet};
use crate::page::{self, Lang, ListView, Standing};

/// Largest OpAMP message taken (bytes).
const MAX_BODY: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    /// The fleet.
    pub fleet: Arc<Fleet>,
    /// Token agents send (`Authorization: Bearer …`); `None`: none asked.
    pub agent_token: Option<String>,
    /// Token the page, `/agents.json` and `/metrics` ask for.
    pub page_token: Option<String>,
    /// Silence after which an agent is stale, ms.
    pub stale_after_ms: i64,
}

/// The router.
pub fn router(app: App) -> Router {
    let agents = Router::new()
        .route(tsunagi_opamp::PATH, post(opamp))
        .layer(middleware::from_fn_with_state(app.clone(), agent_auth));
    let pages = Router::new()
        .route("/", get(list))
        .route("/agent/{uid}", get(detail))
        .route("/agents.json", get(agents_json))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(app.clone(), page_auth))
        .layer(middleware::from_fn(tsunagi_web::security_headers));
    Router::new()
        .merge(agents)
        .merge(pages)
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "トークンが必要です / a bearer token is required\n",
    )
        .into_response()
}

async fn agent_auth(State(app): State<App>, req: Request, next: Next) -> Response {
    if tsunagi_web::bearer_ok(req.headers(), app.agent_token.as_deref()) {
        next.run(req).await
    } else {
        unauthorized()
    }
}

async fn page_auth(State(app): State<App>, req: Request, next: Next) -> Response {
    if !tsunagi_web::bearer_ok(req.headers(), app.page_token.as_deref()) {
        return unauthorized();
    }
    next.run(req).await
}

async fn opamp(State(app): State<App>, body: Bytes) -> Response {
    let fleet = app.fleet.clone();
    let done = tokio::task::spawn_blocking(move || fleet.exchange(&body, now_ms())).await;
    let proto = [(header::CONTENT_TYPE, CONTENT_TYPE)];
    match done {
        Ok(Ok(Exchange::Answer(b))) => (StatusCode::OK, proto, b).into_response(),
        Ok(Ok(Exchange::BadRequest(b))) => (StatusCode::BAD_REQUEST, proto, b).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not record an agent's message / エージェントの報告を保存できません");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "OpAMP handler failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `?lang=` and `?sort=`.
#[derive(Deserialize)]
struct PageQuery {
    lang: Option<String>,
    sort: Option<String>,
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn list(State(app): State<App>, Query(q): Query<PageQuery>) -> Response {
    let mut agents = app.fleet.agents();
    html(page::list(
        ListView {
            agents: &mut agents,
            now_ms: now_ms(),
            stale_after_ms: app.stale_after_ms,
            sort: q.sort.as_deref().unwrap_or("state"),
        },
        Lang::from_query(q.lang.as_deref()),
    ))
}

async fn detail(
    State(app): State<App>,
    Path(uid): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let l = Lang::from_query(q.lang.as_deref());
    match app.fleet.agent(&uid) {
        Some(a) => html(page::detail(&a, now_ms(), app.stale_after_ms, l)),
        None => (
            StatusCode::NOT_FOUND,
            "そのエージェントは知られていません / no such agent\n",
        )
            .into_response(),
    }
}

async fn agents_json(State(app): State<App>) -> Response {
    let now = now_ms();
    let list: Vec<serde_json::Value> = app
        .fleet
        .agents()
        .into_iter()
        .map(|a| {
            let standing = Standing::of(&a, now, app.stale_after_ms).word();
            let mut v = serde_json::to_value(&a).unwrap_or_default();
            v["standing"] = standing.into();
            v
        })
        .collect();
    axum::Json(serde_json::json!({ "agents": list })).into_response()
}

async fn metrics(State(app): State<App>) -> Response {
    let text = crate::metrics::render(&app.fleet.agents(), now_ms(), app.stale_after_ms);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
