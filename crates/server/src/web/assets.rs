//! The app's static files, embedded in the binary and served by Sangathan itself (no CDN, no
//! external font or script). URLs carry a content hash, so a file can be cached for a year and a
//! new release is fetched at once; the service worker's cache is named after all the hashes.

use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

struct Asset {
    body: &'static [u8],
    mime: &'static str,
    hash: String,
}

const FILES: &[(&str, &[u8], &str)] = &[
    (
        "app.css",
        include_bytes!("../../assets/app.css"),
        "text/css; charset=utf-8",
    ),
    (
        "app.js",
        include_bytes!("../../assets/app.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "enrol.js",
        include_bytes!("../../assets/enrol.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "report.js",
        include_bytes!("../../assets/report.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "outbox.js",
        include_bytes!("../../assets/outbox.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "checkin.js",
        include_bytes!("../../assets/checkin.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "icon.svg",
        include_bytes!("../../assets/icon.svg"),
        "image/svg+xml",
    ),
    (
        "icon-192.png",
        include_bytes!("../../assets/icon-192.png"),
        "image/png",
    ),
    (
        "icon-512.png",
        include_bytes!("../../assets/icon-512.png"),
        "image/png",
    ),
];

const SW: &str = include_str!("../../assets/sw.js");

fn table() -> &'static HashMap<&'static str, Asset> {
    static T: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    T.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, body, mime)| {
                let hash = hex::encode(&Sha256::digest(body)[..6]);
                (*name, Asset { body, mime, hash })
            })
            .collect()
    })
}

/// The URL of an asset, with its content hash.
pub fn url(name: &str) -> String {
    match table().get(name) {
        Some(a) => format!("/assets/{name}?v={}", a.hash),
        None => format!("/assets/{name}"),
    }
}

/// One hash for the whole set of assets and the service worker: the shell cache's version.
pub fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let mut h = Sha256::new();
        let mut names: Vec<_> = table().keys().collect();
        names.sort();
        for n in names {
            h.update(table()[n].hash.as_bytes());
        }
        h.update(SW.as_bytes());
        hex::encode(&h.finalize()[..6])
    })
}

#[derive(serde::Deserialize)]
pub struct V {
    v: Option<String>,
}

pub async fn asset(Path(file): Path<String>, Query(q): Query<V>) -> Response {
    let Some(a) = table().get(file.as_str()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // A URL with the current hash never changes; any other is revalidated.
    let cache = if q.v.as_deref() == Some(a.hash.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(a.mime)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        a.body,
    )
        .into_response()
}

/// The service worker, at the root so that it controls every page; told the current asset
/// URLs and the cache version.
pub async fn service_worker() -> Response {
    static BODY: OnceLock<String> = OnceLock::new();
    let body = BODY.get_or_init(|| {
        let shell: Vec<String> = [
            "app.css",
            "app.js",
            "enrol.js",
            "report.js",
            "outbox.js",
            "checkin.js",
            "icon.svg",
        ]
        .iter()
        .map(|n| format!("\"{}\"", url(n)))
        .collect();
        SW.replace("__VERSION__", version())
            .replace("\"__SHELL__\"", &shell.join(","))
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body.clone(),
    )
        .into_response()
}

pub async fn manifest() -> Response {
    static BODY: OnceLock<String> = OnceLock::new();
    let body = BODY.get_or_init(|| {
        serde_json::json!({
            "name": "संगठन · Sangathan",
            "short_name": "संगठन",
            "lang": "hi",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#fffaf5",
            "theme_color": "#8c2d04",
            "icons": [
                {"src": url("icon-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": url("icon-512.png"), "sizes": "512x512", "type": "image/png"},
                {"src": url("icon.svg"), "sizes": "any", "type": "image/svg+xml"}
            ]
        })
        .to_string()
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/manifest+json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body.clone(),
    )
        .into_response()
}
