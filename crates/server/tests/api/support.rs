//! A real server on a real database for each test.

use sangathan_store::Wings;

use chrono::Duration;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use sangathan_store::testing::TestDb;
use sangathan_store::{Backend, DynStore, clock, preset};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};

pub const MINI_STATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/mini-state"
);

pub struct App {
    pub base: String,
    pub token: String,
    pub store: DynStore,
    pub client: Client,
    server: tokio::task::JoinHandle<()>,
    _db: TestDb,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A server on a fresh database holding the mini state, with its campaign 30 days old, and an
/// admin token. None when the backend is PostgreSQL and no server is configured.
pub async fn spawn_app(backend: Backend) -> Option<App> {
    spawn_app_with(backend, sangathan_server::Config::default()).await
}

/// The same, served with `config`.
pub async fn spawn_app_with(backend: Backend, config: sangathan_server::Config) -> Option<App> {
    let db = match backend {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => TestDb::postgres().await?,
    };
    let store = db.open().await;
    let preset = preset::load(MINI_STATE).expect("mini-state preset");
    store
        .init(&preset, clock::today() - Duration::days(30), None)
        .await
        .expect("init");
    let token = store.issue_token("admin", "test").await.expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = sangathan_server::router_with(store.clone(), config);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .expect("server");
    });
    Some(App {
        base: format!("http://{addr}"),
        token,
        store,
        client: Client::new(),
        server,
        _db: db,
    })
}

/// One answer, body kept as bytes (to compare replays byte for byte) and as JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
    #[track_caller]
    #[allow(dead_code)]
    pub fn expect_status(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
    }
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        self.json()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[allow(dead_code)]
impl App {
    /// The test database's URL (for raw SQL in tests).
    pub fn db_url(&self) -> String {
        self._db.url.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with the admin token (`token: None`) or with the given Authorization value.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Option<Option<&str>>,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        match auth {
            None => req = req.bearer_auth(&self.token),
            Some(Some(value)) => req = req.header("Authorization", value),
            Some(None) => {}
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body").to_vec();
        Answer {
            status,
            headers,
            bytes,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, None, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, None, Some(body), None).await
    }

    pub async fn enrol(&self, body: &Value, key: &str) -> Answer {
        self.send(Method::POST, "/api/v1/members", None, Some(body), Some(key))
            .await
    }

    /// Memberships in the whole state, as the store counts them.
    pub async fn member_count(&self) -> usize {
        let mut n = 0;
        let mut after = None;
        loop {
            let page = self
                .store
                .list_members("TS", &Wings::All, after, 500)
                .await
                .expect("list")
                .expect("TS exists");
            n += page.members.len();
            match page.next {
                Some(c) => after = Some(c),
                None => return n,
            }
        }
    }
}

static SEQ: AtomicU64 = AtomicU64::new(1);

/// A valid person nobody else has: a fresh mobile and EPIC.
pub fn person(unit: &str) -> Value {
    let n = SEQ.fetch_add(1, Ordering::SeqCst) + u64::from(std::process::id() % 1000) * 10_000;
    serde_json::json!({
        "name": format!("Test Person {n}"),
        "mobile": format!("98{:08}", n),
        "epic": format!("TST{:07}", n),
        "gender": "F",
        "birth_year": 1990,
        "address": "Ward 4",
        "unit": unit,
    })
}

pub fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}
