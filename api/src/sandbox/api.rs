//! The sandbox's JSON API: sessions for the portal (signed), payments from other channels,
//! a payment's state, the end-of-day file and fault injection. Errors come in the same
//! envelope as the portal's.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};

use super::Ctx;
use super::faults::{ArmedFault, FaultRequest};
use super::state::{EventRequest, SessionRequest};
use crate::ApiError;
use crate::domain::payments::signature;
use crate::http::extract::Path;

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
}

pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// A JSON object whose fields are read one by one, so that a wrong value names its field
/// (serde's own messages do not always).
struct Fields(Map<String, Value>);

impl Fields {
    fn parse(body: &[u8]) -> Result<Fields, ApiError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(_) => Err(ApiError::validation("body", "must be a JSON object")),
            Err(e) => Err(ApiError::BadRequest(format!("the body is not valid JSON: {e}"))),
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &'static str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::validation(name, "must be a string")),
        }
    }

    fn required_string(&self, name: &'static str) -> Result<String, ApiError> {
        self.string(name)?.ok_or_else(|| ApiError::validation(name, "is required"))
    }

    fn integer(&self, name: &'static str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| ApiError::validation(name, "must be a whole number")),
        }
    }

    fn required_integer(&self, name: &'static str) -> Result<i64, ApiError> {
        self.integer(name)?.ok_or_else(|| ApiError::validation(name, "is required"))
    }

    fn unsigned(&self, name: &'static str) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                v.as_u64().map(Some).ok_or_else(|| ApiError::validation(name, "must be a whole number, 0 or more"))
            }
        }
    }

    fn small(&self, name: &'static str) -> Result<Option<u32>, ApiError> {
        self.unsigned(name)?
            .map(|n| u32::try_from(n).map_err(|_| ApiError::validation(name, "is too large")))
            .transpose()
    }

    fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::Validation {
                field: k.clone(),
                message: format!("is not a known field (known: {})", allowed.join(", ")),
            }),
            None => Ok(()),
        }
    }
}

/// A rejected signature: 401, saying why (never what the right signature would be).
fn signature_rejected(e: &signature::SignatureError) -> Response {
    let mut response = ApiError::AuthFailed(format!("the request signature was rejected: {e}")).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Doorstep-Signature"));
    response
}

/// `POST /api/sessions`, signed by the portal: a card page for one payment.
pub async fn create_session(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Bytes) -> Response {
    let given = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = signature::verify(given, &body, std::slice::from_ref(&ctx.secret), now) {
        tracing::warn!(error = %e, "refused a session request: bad signature");
        return signature_rejected(&e);
    }
    let result = (|| {
        let f = Fields::parse(&body)?;
        let req = SessionRequest {
            reference: f.required_string("reference")?,
            account_number: f.required_string("account_number")?,
            amount_pence: f.required_integer("amount_pence")?,
            description: f.string("description")?.unwrap_or_default(),
            return_url: f.required_string("return_url")?,
        };
        Ok::<_, ApiError>(ctx.sandbox.create_session(req)?)
    })();
    match result {
        Ok(created) => (StatusCode::CREATED, Json(created)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/events`: a payment arrives from another channel.
pub async fn create_event(State(ctx): State<Arc<Ctx>>, body: Bytes) -> Result<Response, ApiError> {
    let f = Fields::parse(&body)?;
    let req = EventRequest {
        account_number: f.required_string("account_number")?,
        amount_pence: f.required_integer("amount_pence")?,
        channel: f.required_string("channel")?,
    };
    let created = ctx.sandbox.external_payment(&req)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `GET /api/payments/{id}`: the payment and where each of its notifications has got to.
pub async fn payment(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let view = ctx.sandbox.payment(&id).ok_or_else(|| ApiError::not_found("payment"))?;
    Ok(Json(view).into_response())
}

/// `GET /api/end-of-day/{YYYY-MM-DD}.csv`.
pub async fn end_of_day(State(ctx): State<Arc<Ctx>>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let date = file
        .strip_suffix(".csv")
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| ApiError::validation("date", "must be a date and .csv, as in /api/end-of-day/2026-11-22.csv"))?;
    let rows = ctx.sandbox.end_of_day(date);
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    let write = |w: &mut csv::Writer<Vec<u8>>| -> Result<(), csv::Error> {
        w.write_record(["payment_id", "account_number", "amount_pence", "channel", "paid_at", "reference"])?;
        for row in &rows {
            w.serialize(row)?;
        }
        w.flush()?;
        Ok(())
    };
    write(&mut w).map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("writing the end-of-day file")))?;
    let bytes = w.into_inner().map_err(|e| ApiError::Internal(anyhow::anyhow!("end-of-day file: {e}")))?;
    let disposition = format!("attachment; filename=\"{date}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Serialize)]
pub struct FaultsView {
    pub armed: Vec<ArmedFault>,
}

pub async fn faults(State(ctx): State<Arc<Ctx>>) -> Json<FaultsView> {
    Json(FaultsView { armed: ctx.sandbox.faults() })
}

/// `POST /api/faults`: arms a fault; answers with everything now armed.
pub async fn arm_fault(State(ctx): State<Arc<Ctx>>, body: Bytes) -> Result<Json<FaultsView>, ApiError> {
    let f = Fields::parse(&body)?;
    f.only(&["fault", "next", "percent", "delay_ms", "seed"])?;
    let req = FaultRequest {
        fault: f.required_string("fault")?,
        next: f.small("next")?,
        percent: f.small("percent")?,
        delay_ms: f.unsigned("delay_ms")?,
        seed: f.unsigned("seed")?,
    };
    Ok(Json(FaultsView { armed: ctx.sandbox.arm_fault(&req)? }))
}

/// `DELETE /api/faults`: disarms everything and sends what a reorder was holding.
pub async fn clear_faults(State(ctx): State<Arc<Ctx>>) -> Json<FaultsView> {
    Json(FaultsView { armed: ctx.sandbox.clear_faults() })
}

pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::NotFound(format!("no such endpoint: {}", uri.path())).into_response()
    } else {
        super::page::not_found_page("There is no page at this address.")
    }
}
