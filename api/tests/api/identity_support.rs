//! Fixtures and helpers for the identity tests: homes with tenants, staff sign-ins,
//! requests with headers and a client address, and reading a PIN letter the way a tenant
//! does (its text, via `pdftotext`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use chrono::NaiveDate;
use doorstep::entity::{housing_officer, person, property, rent_account, tenancy, tenancy_member};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{TestApp, TestResponse};

static N: AtomicU64 = AtomicU64::new(1);

pub const STAFF_PASSWORD: &str = "quiet harbour lantern";

/// A tenancy with its home, lead tenant and rent account.
#[derive(Debug, Clone)]
pub struct Home {
    pub property_id: i64,
    pub tenancy_id: i64,
    pub tenancy_ref: String,
    pub account_id: i64,
    pub account_number: String,
    pub person_id: i64,
    pub surname: String,
    pub postcode: String,
    pub address_line1: String,
}

/// Makes a current tenancy in `org_id` for `Ms {forename} {surname}` at a home in
/// `postcode`, with a housing officer and a rent account of `balance_pence`.
pub async fn home(
    db: &DatabaseConnection,
    org_id: i64,
    forename: &str,
    surname: &str,
    postcode: &str,
    balance_pence: i64,
) -> Home {
    let n = N.fetch_add(1, Ordering::Relaxed);
    let officer = housing_officer::ActiveModel {
        organisation_id: Set(org_id),
        name: Set(format!("Officer {n}")),
        email: Set(Some(format!("officer{n}@landlord.example"))),
        phone: Set(Some("0113 496 0100".into())),
        patch: Set(format!("patch-{n}")),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("housing officer");
    let address_line1 = format!("{n} Mill Lane");
    let p = property::ActiveModel {
        organisation_id: Set(org_id),
        hms_ref: Set(format!("IDP{n}")),
        address_line1: Set(address_line1.clone()),
        address_line2: Set(Some("Sowerby Bridge".into())),
        town: Set("Halifax".into()),
        postcode: Set(postcode.into()),
        kind: Set("home".into()),
        housing_officer_id: Set(Some(officer.id)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("property");
    let person = person::ActiveModel {
        organisation_id: Set(org_id),
        hms_ref: Set(format!("IDPER{n}")),
        title: Set(Some("Ms".into())),
        forename: Set(forename.into()),
        surname: Set(surname.into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("person");
    let tenancy_ref = format!("TEN-ID-{n:05}");
    let t = tenancy::ActiveModel {
        organisation_id: Set(org_id),
        hms_ref: Set(tenancy_ref.clone()),
        property_id: Set(p.id),
        tenure: Set("secure".into()),
        start_date: Set(NaiveDate::from_ymd_opt(2019, 4, 1).expect("date")),
        end_date: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("tenancy");
    tenancy_member::ActiveModel {
        tenancy_id: Set(t.id),
        person_id: Set(person.id),
        role: Set("lead".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("member");
    let account_number = format!("{}", 70_000_000 + n);
    let a = rent_account::ActiveModel {
        organisation_id: Set(org_id),
        tenancy_id: Set(t.id),
        hms_ref: Set(format!("IDA{n}")),
        account_number: Set(account_number.clone()),
        kind: Set("rent".into()),
        weekly_charge_pence: Set(9_850),
        balance_pence: Set(balance_pence),
        version: Set(0),
        opened_on: Set(NaiveDate::from_ymd_opt(2019, 4, 1).expect("date")),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("account");
    Home {
        property_id: p.id,
        tenancy_id: t.id,
        tenancy_ref,
        account_id: a.id,
        account_number,
        person_id: person.id,
        surname: surname.into(),
        postcode: postcode.into(),
        address_line1,
    }
}

/// A member of staff; returns their email.
pub async fn staff(app: &TestApp, org_slug: &str, role: &str) -> String {
    let n = N.fetch_add(1, Ordering::Relaxed);
    let email = format!("{role}.{n}@{org_slug}.example");
    doorstep::domain::identity::users::create_staff(
        &app.db.db,
        org_slug,
        &email,
        SecretString::from(STAFF_PASSWORD.to_owned()),
        role,
        None,
    )
    .await
    .expect("staff user");
    email
}

/// Signs in as an app (refresh token in the body); returns the whole answer.
pub async fn login_app(app: &TestApp, email: &str, password: &str) -> Value {
    let r = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": email, "password": password, "client": "app"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "login {email}: {}", r.text());
    r.json()
}

/// Signs in and returns the access token.
pub async fn token(app: &TestApp, email: &str, password: &str) -> String {
    login_app(app, email, password).await["access_token"].as_str().expect("access token").to_owned()
}

/// A staff member of `org_slug` with `role`, signed in: their access token.
pub async fn staff_token(app: &TestApp, org_slug: &str, role: &str) -> String {
    let email = staff(app, org_slug, role).await;
    token(app, &email, STAFF_PASSWORD).await
}

/// A request with headers (and optionally a client address, as `ConnectInfo` gives it).
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
    ip: Option<&str>,
) -> TestResponse {
    let mut builder = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let body = match body {
        Some(v) => {
            builder = builder.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let mut request = builder.body(body).expect("request");
    if let Some(ip) = ip {
        let addr: SocketAddr = format!("{ip}:40000").parse().expect("test address");
        request.extensions_mut().insert(ConnectInfo(addr));
    }
    app.send(request).await
}

/// A request with `Authorization: Bearer <token>`.
pub async fn as_bearer(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> TestResponse {
    let auth = format!("Bearer {token}");
    call(app, method, path, body, &[("authorization", auth.as_str())], None).await
}

pub async fn graphql_as(app: &TestApp, token: Option<&str>, query: &str) -> Value {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let r = call(app, Method::POST, "/graphql", Some(json!({ "query": query })), &headers, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

/// Asks to register for `home` with `email`.
pub async fn register(app: &TestApp, home: &Home, email: &str) -> TestResponse {
    app.request(
        Method::POST,
        "/api/v1/registrations",
        Some(json!({
            "account_number": home.account_number,
            "surname": home.surname,
            "postcode": home.postcode,
            "email": email,
        })),
    )
    .await
}

/// The id of the newest registration request naming `account_number`, as staff see it.
pub async fn registration_id(app: &TestApp, staff_token: &str, account_number: &str) -> i64 {
    let r = as_bearer(app, staff_token, Method::GET, "/api/v1/staff/registrations?limit=100", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .rev()
        .find(|i| i["submitted"]["account_number"] == account_number)
        .and_then(|i| i["id"].as_i64())
        .unwrap_or_else(|| panic!("no registration for {account_number}"))
}

/// The text of a PDF, as `pdftotext` reads it.
pub fn pdf_text(pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("letter.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed: scripts install it; apt-get install poppler-utils");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every PIN printed in the text of a letter (or a print run), in order.
pub fn pins_in(text: &str) -> Vec<String> {
    const ALPHABET: &str = "23456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut pins = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            let candidate = format!("{}{}", pair[0], pair[1]);
            if pair[0].len() == 5 && pair[1].len() == 5 && candidate.chars().all(|c| ALPHABET.contains(c)) {
                pins.push(format!("{} {}", pair[0], pair[1]));
            }
        }
    }
    pins
}

/// Downloads the letter of registration `id` and reads its PIN.
pub async fn letter_pin(app: &TestApp, staff_token: &str, id: i64) -> (String, String) {
    let r =
        as_bearer(app, staff_token, Method::GET, &format!("/api/v1/staff/registrations/{id}/letter.pdf"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["content-type"], "application/pdf");
    let text = pdf_text(&r.body);
    let pins = pins_in(&text);
    assert_eq!(pins.len(), 1, "one PIN in the letter:\n{text}");
    (pins[0].clone(), text)
}

/// Register → validate → letter → activate: a tenant with a sign-in. Returns their access
/// token.
pub async fn tenant_with_sign_in(app: &TestApp, home: &Home, staff_token: &str, email: &str, password: &str) -> String {
    let r = register(app, home, email).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let id = registration_id(app, staff_token, &home.account_number).await;
    let r =
        as_bearer(app, staff_token, Method::POST, &format!("/api/v1/staff/registrations/{id}/validate"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let (pin, _) = letter_pin(app, staff_token, id).await;
    let r = app
        .request(
            Method::POST,
            "/api/v1/registrations/activate",
            Some(json!({"account_number": home.account_number, "pin": pin, "email": email, "password": password})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    token(app, email, password).await
}

/// Runs raw SQL (written with `$1` placeholders) on either backend.
pub async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    db.execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, values)).await.expect("sql");
}

/// Renders a PDF with `pdftoppm` (as a printer or a viewer would rasterise it) and returns,
/// per page, the share of dark pixels, so a test can tell a page with print on it from a
/// blank or broken one.
pub fn pdf_rendered_ink(pdf: &[u8]) -> Vec<f64> {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("doc.pdf");
    std::fs::write(&input, pdf).expect("write pdf");
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "40", "-gray"])
        .arg(&input)
        .arg(dir.path().join("page"))
        .output()
        .expect("pdftoppm (poppler-utils) must be installed: scripts install it");
    assert!(out.status.success(), "pdftoppm could not render it: {}", String::from_utf8_lossy(&out.stderr));
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pgm"))
        .collect();
    pages.sort();
    pages
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).expect("page image");
            // Binary PGM: "P5", width, height, maxval, one whitespace, then one byte a pixel.
            let mut fields = 0;
            let mut i = 0;
            while fields < 4 && i < bytes.len() {
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                fields += 1;
            }
            let pixels = &bytes[(i + 1).min(bytes.len())..];
            let dark = pixels.iter().filter(|&&b| b < 128).count();
            dark as f64 / pixels.len().max(1) as f64
        })
        .collect()
}
