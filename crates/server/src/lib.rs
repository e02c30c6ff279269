//! Sangathan's HTTP server: a JSON API under `/api/v1`, described by an OpenAPI document that is
//! generated from the routes themselves (`GET /api/v1/openapi.json`).
//!
//! - Every route but `GET /healthz` needs `Authorization: Bearer <token>`.
//! - Every error is `{"error": {"code", "message", "message_hi", "fields"?, "fields_hi"?}}`
//!   ([`error::ApiError`]).
//! - Logs carry method, matched route, status and latency: never query strings, bodies or
//!   anything else personal.

pub mod audit;
pub mod auth;
pub mod calendar;
pub mod digest;
pub mod doc;
pub mod dto;
pub mod error;
pub mod extract;
pub mod map;
pub mod metrics;
pub mod notify;
pub mod routes;
pub mod web;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use error::ApiError;
use sangathan_store::DynStore;
use std::net::SocketAddr;
use tower_http::LatencyUnit;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    /// The OpenAPI document, serialised once.
    pub openapi_json: Bytes,
    pub audit: audit::AuditSink,
    /// The operator's scope (the whole state), looked up once.
    pub operator_scope:
        std::sync::Arc<std::sync::OnceLock<std::sync::Arc<sangathan_core::access::Scope>>>,
    pub config: Config,
    /// Imports started from the web app.
    pub jobs: web::bulk::Jobs,
}

/// How the server runs.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Mark the session cookie `Secure` (behind TLS). Also set per request when a proxy says
    /// `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
    /// Write one-time codes to the log (development, no SMS provider).
    pub log_codes: bool,
    /// Fake-member detection's thresholds (`SANGATHAN_DETECT_*`).
    pub detection: sangathan_core::detection::Thresholds,
    /// The secret the SMS provider's inbound webhook presents (`SANGATHAN_INBOUND_SECRET`):
    /// missed calls and reply SMS confirming memberships. None: the webhook is off (403).
    pub inbound_secret: Option<String>,
    /// Serve `GET /metrics` on this address only (`serve --metrics-addr`); None: on the main
    /// address, beside the app.
    pub metrics_addr: Option<SocketAddr>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`SANGATHAN_TRUSTED_PROXIES`,
    /// comma-separated addresses): rate limits and the audit log then see the client's address,
    /// not the proxy's. Empty: the peer's address, whatever a header says.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How often the background jobs run (`SANGATHAN_JOBS_TICK_SECS`, `_PERIOD_SECS`,
    /// `_LEASE_SECS`; see [`notify::JobTimes`]).
    pub jobs: notify::JobTimes,
    /// Do not have the OS read the SQLite file into its page cache at start
    /// (`SANGATHAN_READ_AHEAD=off`; by default `serve` does, in the background: see
    /// `sangathan_store::read_ahead`).
    pub no_read_ahead: bool,
}

impl Config {
    /// The detection thresholds from `SANGATHAN_DETECT_<NAME>` (e.g. `SANGATHAN_DETECT_HOURLY_MAX=80`)
    /// and the inbound webhook's secret from `SANGATHAN_INBOUND_SECRET`; the jobs' times and
    /// switch (`SANGATHAN_JOBS*`) and the read-ahead's (`SANGATHAN_READ_AHEAD`) over this config's.
    pub fn from_env(self) -> anyhow::Result<Config> {
        let detection = sangathan_core::detection::Thresholds::from_lookup(|n| std::env::var(format!("SANGATHAN_DETECT_{}", n.to_ascii_uppercase())).ok())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let inbound_secret = std::env::var("SANGATHAN_INBOUND_SECRET").ok().filter(|s| !s.trim().is_empty());
        if inbound_secret.as_ref().is_some_and(|s| s.len() < 16) {
            anyhow::bail!("SANGATHAN_INBOUND_SECRET must be at least 16 characters");
        }
        let trusted_proxies = match std::env::var("SANGATHAN_TRUSTED_PROXIES") {
            Ok(v) => v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.parse::<std::net::IpAddr>().map_err(|_| {
                        anyhow::anyhow!("SANGATHAN_TRUSTED_PROXIES: not an IP address: {a}")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            Err(_) => self.trusted_proxies.clone(),
        };
        let jobs = notify::JobTimes::from_lookup(self.jobs, |n| std::env::var(n).ok())?;
        let no_read_ahead = match std::env::var("SANGATHAN_READ_AHEAD").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Err(_) | Ok("") => self.no_read_ahead,
            Ok("on" | "true" | "1") => false,
            Ok("off" | "false" | "0") => true,
            Ok(v) => anyhow::bail!("SANGATHAN_READ_AHEAD must be on or off, not {v:?}"),
        };
        Ok(Config { detection, inbound_secret, trusted_proxies, jobs, no_read_ahead, ..self })
    }
}

/// An unknown path: an HTML page for the pages' paths, the API's JSON error under `/api/`.
async fn not_found(req: Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    if web::is_page(req.uri().path()) {
        let lang = web::i18n::Lang::of(req.headers());
        web::PageError(ApiError::NotFound, lang, None).into_response()
    } else {
        ApiError::NotFound.into_response()
    }
}

/// The full OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api_router().into_openapi()
}

/// The whole application with the default configuration.
pub fn router(store: DynStore) -> Router {
    router_with(store, Config::default())
}

/// The whole application: routes, authentication, audit, limits, headers and request logging.
/// Must be called inside a Tokio runtime (the audit writer is a task).
pub fn router_with(store: DynStore, config: Config) -> Router {
    let (routes, doc) = routes::api_router().split_for_parts();
    let openapi_json =
        Bytes::from(serde_json::to_vec(&doc).expect("the OpenAPI document serialises"));
    let state = AppState {
        audit: audit::AuditSink::start(store.clone()),
        store,
        openapi_json,
        operator_scope: Default::default(),
        config,
        jobs: Default::default(),
    };
    // Prometheus scrapes without a token (not in the API document: not part of /api/v1).
    let routes = if state.config.metrics_addr.is_none() {
        routes.route("/metrics", axum::routing::get(metrics::handler))
    } else {
        routes
    };
    routes
        // Calendar apps subscribe by secret URL (not in the API document: no JSON, no login).
        .route(
            "/ical/{file}",
            axum::routing::get(routes::meetings::public_feed),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_caller,
        ))
        // The pages authenticate themselves (a missing session is a redirect to the login page).
        .merge(web::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::audit_layer,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::compression::CompressionLayer::new())
        // Nothing personal is kept by a browser or proxy cache; assets set their own caching.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // No page may load or send anything to another host.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Never a referrer to another host; same-origin keeps the Origin header on form posts
        // (with no-referrer, browsers send `Origin: null`, which the pages refuse).
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        // Requests and latencies by route template, for /metrics.
        .layer(axum::middleware::from_fn(metrics::track))
        // Behind a trusted proxy, the client's address is the one it forwards.
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(state.config.trusted_proxies.clone()),
            forwarded_client,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // The route pattern (`/api/v1/members/{person_id}`), never the path itself or its query.
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str)
                        .unwrap_or("(unmatched)");
                    tracing::info_span!("http", method = %req.method(), route)
                })
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Millis),
                ),
        )
        .with_state(state)
}

/// Whether `ip` is one of the trusted proxies, comparing canonical forms: an IPv4 peer on a
/// dual-stack socket (`::ffff:127.0.0.1`) is the configured `127.0.0.1`.
fn is_trusted(trusted: &[std::net::IpAddr], ip: std::net::IpAddr) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|t| t.to_canonical() == ip)
}

/// The client a trusted proxy names: when `peer` is a trusted proxy, the rightmost address in
/// `X-Forwarded-For` that is not itself one (canonical: `::ffff:198.51.100.9` is `198.51.100.9`).
/// None from anyone else, or when the header names no such address.
fn forwarded_for(
    trusted: &[std::net::IpAddr],
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
) -> Option<std::net::IpAddr> {
    if !is_trusted(trusted, peer) {
        return None;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .filter_map(|a| a.parse::<std::net::IpAddr>().ok())
        .find(|ip| !is_trusted(trusted, *ip))
        .map(|ip| ip.to_canonical())
}

/// When the peer is a trusted proxy, put the client it names in `X-Forwarded-For` (the rightmost
/// address that is not itself a trusted proxy) where handlers look for the peer's address.
async fn forwarded_client(
    axum::extract::State(trusted): axum::extract::State<std::sync::Arc<Vec<std::net::IpAddr>>>,
    mut req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::extract::ConnectInfo;
    if !trusted.is_empty()
        && let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
        && let Some(ip) = forwarded_for(&trusted, peer.ip(), req.headers())
    {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, peer.port())));
    }
    next.run(req).await
}

/// Serve the API on `addr` until Ctrl-C or SIGTERM, then finish the requests in flight.
pub async fn serve(store: DynStore, addr: SocketAddr, config: Config) -> anyhow::Result<()> {
    use anyhow::Context;
    match store.is_initialised().await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "the database is not initialised: the API will answer 503 until `sangathan init` runs"
        ),
        Err(e) => tracing::warn!(error = %e, "could not check whether the database is initialised"),
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(%local, "listening");
    if !config.no_read_ahead {
        spawn_read_ahead(store.clone());
    }
    // Background jobs and the metrics listener stop when `stop` turns true: after the requests
    // in flight are answered, and each job only between two rounds.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let jobs = notify::spawn_jobs(store.clone(), config.detection.clone(), config.jobs, stopped.clone());
    let metrics_server = match config.metrics_addr {
        Some(maddr) => {
            let l = tokio::net::TcpListener::bind(maddr)
                .await
                .with_context(|| format!("cannot listen on {maddr} (metrics)"))?;
            tracing::info!(local = %l.local_addr().unwrap_or(maddr), "metrics listening");
            let mut stopped = stopped.clone();
            let app = metrics::router(store.clone());
            Some(tokio::spawn(async move {
                let r = axum::serve(l, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await;
                if let Err(e) = r {
                    tracing::error!(error = %e, "metrics server error");
                }
            }))
        }
        None => None,
    };
    let served = axum::serve(
        listener,
        router_with(store, config).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server error");
    let _ = stop.send(true);
    if let Some(j) = jobs {
        tracing::info!("waiting for the background jobs' current round");
        let _ = j.await;
    }
    if let Some(m) = metrics_server {
        let _ = m.await;
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Have the OS read the database into its page cache while the server answers: at a state's
/// scale a cold file makes every enrolment wait on the disk (see `sangathan_store::read_ahead`).
/// Its state is in `/metrics` (`sangathan_database_read_ahead`).
fn spawn_read_ahead(store: DynStore) {
    use sangathan_store::read_ahead::ReadAhead;
    metrics::METRICS.read_ahead("running", 0);
    tokio::spawn(async move {
        match store.read_ahead().await {
            Ok(ReadAhead::Done { bytes, resident: Some(resident), seconds }) => {
                let held = (bytes as f64 * resident) as u64;
                tracing::info!(
                    file_mib = bytes >> 20,
                    held_mib = held >> 20,
                    seconds,
                    "the database file was read ahead into the OS's page cache"
                );
                metrics::METRICS.read_ahead("done", held);
            }
            Ok(ReadAhead::Done { bytes, resident: None, seconds }) => {
                tracing::info!(
                    file_mib = bytes >> 20,
                    seconds,
                    "the database file was read ahead into the OS's page cache (how much it holds could not be measured)"
                );
                metrics::METRICS.read_ahead("done", 0);
            }
            Ok(ReadAhead::Skipped(why)) => {
                tracing::info!(%why, "the database file was not read ahead");
                metrics::METRICS.read_ahead("skipped", 0);
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the database file ahead failed");
                metrics::METRICS.read_ahead("skipped", 0);
            }
        }
    });
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod forwarded_tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};
    use std::net::IpAddr;

    fn ip(a: &str) -> IpAddr {
        a.parse().unwrap()
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn a_mapped_ipv4_peer_is_the_configured_proxy() {
        let trusted = [ip("127.0.0.1")];
        assert!(is_trusted(&trusted, ip("127.0.0.1")));
        assert!(is_trusted(&trusted, ip("::ffff:127.0.0.1")));
        assert!(!is_trusted(&trusted, ip("::1")));
        assert!(!is_trusted(&trusted, ip("::ffff:127.0.0.2")));
        // Configured in the mapped form, it is the IPv4 address too.
        assert!(is_trusted(&[ip("::ffff:10.0.0.5")], ip("10.0.0.5")));
        let h = xff("198.51.100.9, 203.0.113.7");
        assert_eq!(forwarded_for(&trusted, ip("::ffff:127.0.0.1"), &h), Some(ip("203.0.113.7")));
        assert_eq!(forwarded_for(&trusted, ip("127.0.0.1"), &h), Some(ip("203.0.113.7")));
    }

    #[test]
    fn the_rightmost_untrusted_address_from_a_trusted_peer_only() {
        let trusted = [ip("127.0.0.1"), ip("10.0.0.5")];
        let h = xff("198.51.100.9, 203.0.113.7, ::ffff:10.0.0.5");
        assert_eq!(forwarded_for(&trusted, ip("127.0.0.1"), &h), Some(ip("203.0.113.7")));
        assert_eq!(forwarded_for(&trusted, ip("192.0.2.1"), &h), None, "an untrusted peer");
        assert_eq!(forwarded_for(&[], ip("127.0.0.1"), &h), None, "no proxies trusted");
        assert_eq!(forwarded_for(&trusted, ip("127.0.0.1"), &HeaderMap::new()), None);
        assert_eq!(forwarded_for(&trusted, ip("127.0.0.1"), &xff("junk, 10.0.0.5")), None);
        assert_eq!(
            forwarded_for(&trusted, ip("127.0.0.1"), &xff("::ffff:198.51.100.9")),
            Some(ip("198.51.100.9")),
            "the client in its canonical form"
        );
    }
}
