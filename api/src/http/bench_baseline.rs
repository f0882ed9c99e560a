//! UNSAFE, benchmarks only: `GET /api/bench-baseline/accounts/{id}` answers the same JSON as
//! `GET /api/v1/accounts/{id}` (the account summary) with two raw SQL statements straight on
//! the server's sqlx pool: no sign-in, no authorisation, no domain layer, no ORM. `just bench`
//! puts the same load on both, so that the difference is what our layers cost.
//!
//! It is mounted only when `DOORSTEP_BENCH_BASELINE` is on *and* the server listens on a
//! loopback address, because it hands any account to anyone who asks. It is not in the
//! OpenAPI document (a plain axum route, not a utoipa one).
//!
//! Running balances: the newest line's balance after it is the account's balance, since every
//! line is dated on or before the newest one; the lines below subtract. The real route sums
//! the entries for it instead; the two agree whenever the cached balance equals that sum,
//! which `doorstep ledger check` proves and `tests/api/bench_baseline.rs` checks.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use doorstep_shared::dto::{AccountSummary, BalanceState, Transaction};
use sea_orm::DatabaseBackend;

use crate::config::Config;
use crate::domain::ledger::views::kind_label;
use crate::{ApiError, AppState};

/// Where the baseline answers when it is mounted.
pub const PATH: &str = "/api/bench-baseline/accounts/{id}";

/// The baseline's route when the configuration asks for it, otherwise nothing at all (so the
/// path falls through to the API's 404).
pub fn routes(config: &Config) -> Router<AppState> {
    if !config.bench_baseline {
        return Router::new();
    }
    if !config.addr.ip().is_loopback() {
        tracing::error!(
            addr = %config.addr,
            "DOORSTEP_BENCH_BASELINE is on but the server listens beyond this machine: not mounting {PATH}"
        );
        return Router::new();
    }
    tracing::warn!(
        "DOORSTEP_BENCH_BASELINE is on: {PATH} shows any account to anyone, unauthenticated (benchmarks only)"
    );
    Router::new().route(PATH, get(summary))
}

struct Sql {
    account: &'static str,
    recent: &'static str,
}

const POSTGRES: Sql = Sql {
    account: "SELECT id, account_number, kind, balance_pence, weekly_charge_pence, last_entry_date \
              FROM rent_account WHERE id = $1",
    recent: "SELECT id, effective_date, kind, description, amount_pence, channel FROM ledger_entry \
             WHERE account_id = $1 ORDER BY effective_date DESC, id DESC LIMIT 3",
};

const SQLITE: Sql = Sql {
    account: "SELECT id, account_number, kind, balance_pence, weekly_charge_pence, last_entry_date \
              FROM rent_account WHERE id = ?1",
    recent: "SELECT id, effective_date, kind, description, amount_pence, channel FROM ledger_entry \
             WHERE account_id = ?1 ORDER BY effective_date DESC, id DESC LIMIT 3",
};

type AccountRow = (i64, String, String, i64, i64, Option<NaiveDate>);
type LineRow = (i64, NaiveDate, String, String, i64, Option<String>);

/// The two statements on one backend's pool (the pools are different types).
macro_rules! fetch {
    ($pool:expr, $sql:expr, $id:expr) => {
        async {
            let pool = $pool;
            let Some(account) = sqlx::query_as::<_, AccountRow>($sql.account).bind($id).fetch_optional(pool).await?
            else {
                return Ok::<_, sqlx::Error>(None);
            };
            let lines = sqlx::query_as::<_, LineRow>($sql.recent).bind($id).fetch_all(pool).await?;
            Ok(Some((account, lines)))
        }
        .await
    };
}

async fn summary(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<AccountSummary>, ApiError> {
    let found = match state.db.get_database_backend() {
        DatabaseBackend::Postgres => fetch!(state.db.get_postgres_connection_pool(), POSTGRES, id),
        DatabaseBackend::Sqlite => fetch!(state.db.get_sqlite_connection_pool(), SQLITE, id),
        other => return Err(ApiError::Internal(anyhow::anyhow!("bench baseline: no support for {other:?}"))),
    }
    .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("bench baseline")))?;
    let Some((account, lines)) = found else { return Err(ApiError::NotFound("account not found".into())) };
    Ok(Json(shape(account, lines)))
}

fn shape(account: AccountRow, lines: Vec<LineRow>) -> AccountSummary {
    let (id, account_number, kind, balance_pence, weekly_charge_pence, last_transaction_date) = account;
    let mut running = balance_pence;
    let recent = lines
        .into_iter()
        .map(|(line_id, date, kind, description, amount_pence, channel)| {
            let line = Transaction {
                id: line_id,
                date,
                kind,
                description,
                amount_pence,
                balance_after_pence: running,
                channel,
            };
            running -= amount_pence;
            line
        })
        .collect();
    AccountSummary {
        id,
        account_number,
        kind_label: kind_label(&kind).to_owned(),
        kind,
        balance_pence,
        balance_state: BalanceState::of(balance_pence),
        balance_text: BalanceState::describe(balance_pence),
        weekly_charge_pence,
        last_transaction_date,
        recent,
    }
}
