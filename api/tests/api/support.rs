//! Test harness: a fresh database per test (a temp SQLite file, or a new PostgreSQL
//! database dropped afterwards) and an in-process `TestApp` that drives the real router.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use doorstep::{AppState, Config};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};
use secrecy::SecretString;
use tower::ServiceExt;

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn backend() -> &'static str {
    match std::env::var("DOORSTEP_TEST_DB").as_deref() {
        Ok("postgres") => "postgres",
        _ => "sqlite",
    }
}

fn pg_admin_url() -> String {
    std::env::var("DOORSTEP_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A migrated, empty database that disappears with the value.
pub struct TestDb {
    pub db: DatabaseConnection,
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let (url, pg_name, dir) = if backend() == "postgres" {
            let name = format!("doorstep_test_{}_{}_{}", std::process::id(), n, uuid::Uuid::new_v4().simple());
            let admin = pg_admin_url();
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("PostgreSQL for tests (DOORSTEP_TEST_PG_URL)");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin.clone());
            (format!("{base}/{name}"), Some(name), None)
        } else {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            (url, None, Some(dir))
        };
        let db = doorstep::db::connect(&SecretString::from(url.clone()), 5).await.expect("connect test database");
        doorstep::db::migrate(&db).await.expect("migrate test database");
        TestDb { db, url, pg_name, _dir: dir }
    }

    pub fn config(&self) -> Config {
        Config {
            database_url: SecretString::from(self.url.clone()),
            web_dir: std::path::PathBuf::from("/nonexistent-web-dist"),
            ..Config::default()
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        let admin = pg_admin_url();
        // Drop runs outside any runtime we may block on: use a short-lived one of our own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
                    let _ =
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                            .execute(&mut conn)
                            .await;
                }
            });
        })
        .join();
    }
}

/// The real router over a fresh database, driven in-process.
pub struct TestApp {
    pub db: TestDb,
    pub router: Router,
    /// The state behind the router, for tests that reach into it (signing-key cache).
    pub state: AppState,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::new_with(|_| {}).await
    }

    /// A `TestApp` whose configuration `adjust` changes first.
    pub async fn new_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new().await;
        let mut config = db.config();
        adjust(&mut config);
        let state = AppState::new(db.db.clone(), config).expect("app state");
        let router = doorstep::http::router(state.clone());
        TestApp { db, router, state }
    }

    /// Sends a request built by the test (custom headers, a client address).
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 16 << 20).await.expect("body").to_vec();
        TestResponse { status, headers, body }
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<serde_json::Value>) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        let body = match body {
            Some(v) => {
                builder = builder.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let response = self.router.clone().oneshot(builder.body(body).expect("request")).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 16 << 20).await.expect("body").to_vec();
        TestResponse { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, None).await
    }

    pub async fn graphql(&self, query: &str) -> serde_json::Value {
        let r = self.request(Method::POST, "/graphql", Some(serde_json::json!({ "query": query }))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// Inserts an organisation directly, for tests that need one without the demo seed.
    pub async fn add_org(&self, slug: &str, name: &str, parent: Option<i64>) -> i64 {
        use doorstep::entity::organisation;
        let m = organisation::ActiveModel {
            slug: Set(slug.into()),
            name: Set(name.into()),
            parent_id: Set(parent),
            primary_colour: Set("#1d4f91".into()),
            secondary_colour: Set("#f2a900".into()),
            tagline: Set(Some(format!("{name}: homes for the valley"))),
            phone: Set(Some("0113 496 0000".into())),
            email: Set(Some(format!("hello@{slug}.example"))),
            website: Set(None),
            address: Set(None),
            opening_hours: Set(None),
            emergency_phone: Set(Some("0113 496 0999".into())),
            created_at: Set(chrono::Utc::now()),
            ..Default::default()
        }
        .insert(&self.db.db)
        .await
        .expect("insert organisation");
        m.id
    }
}
