//! Registration: the request, staff's decision, the PIN letter and activation.
//!
//! The PIN is drawn when its letter is produced (one letter, or a day's print run), and
//! only its argon2id hash is kept: the PIN exists in clear only in that PDF on its way to
//! the printer. Producing a letter again draws a new PIN and voids the old one, which is
//! what a reprint should do.

use chrono::{Duration, Utc};
use doorstep_shared::{AccountNumber, Postcode};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tracing::instrument;

use super::audit::{self, Actor, ClientMeta, Event, Outcome};
use super::error::IdentityError;
use super::letter::{self, Letter};
use super::model::{
    ActivatedUser, RegistrationPage, RegistrationReceived, RegistrationRequest, RegistrationStatus, RegistrationView,
    Role, Scope, UserStatus,
};
use super::pin::{self, Pin};
use super::policy::{self, OrgScope, Principal, REGISTRATION_ROLES};
use super::{password, rate_limit, repo};
use crate::entity::{
    app_user, identity_link, organisation, person, property, registration, rent_account, tenancy, tenancy_member,
};
use crate::http::pagination::{PageRequest, encode_cursor};

/// The answer to every well-formed registration request.
pub const RECEIVED_MESSAGE: &str = "Thank you. We will check your details against our records. If they match a \
     tenancy, we will post a letter with a PIN to the home's address; it tells you how to finish registering.";

/// Most letters one print run produces; the rest wait for the next run.
pub const PRINT_RUN_MAX: u64 = 200;

/// An email address, trimmed and lower-cased.
pub fn parse_email(input: &str) -> Result<String, IdentityError> {
    let email = input.trim().to_lowercase();
    let bad = || IdentityError::invalid("email", "is not an email address");
    if email.len() < 3 || email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err(bad());
    }
    Ok(email)
}

/// A surname as compared: case, spaces, apostrophes, hyphens and full stops do not count.
pub fn surname_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '\'' | '’' | '‘' | '`' | '´' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

struct Match {
    organisation_id: Option<i64>,
    account_id: Option<i64>,
    tenancy_id: Option<i64>,
    person_id: Option<i64>,
}

/// Looks for the tenancy a request names. Runs the same queries whether or not anything
/// matches, so that the time taken says nothing either.
async fn find_match(
    conn: &impl ConnectionTrait,
    account_number: &AccountNumber,
    surname: &str,
    postcode: &Postcode,
) -> Result<Match, IdentityError> {
    let account = rent_account::Entity::find()
        .filter(rent_account::Column::AccountNumber.eq(account_number.as_str()))
        .one(conn)
        .await?;
    let tenancy = tenancy::Entity::find_by_id(account.as_ref().map(|a| a.tenancy_id).unwrap_or(-1)).one(conn).await?;
    let home = property::Entity::find_by_id(tenancy.as_ref().map(|t| t.property_id).unwrap_or(-1)).one(conn).await?;
    let members = tenancy_member::Entity::find()
        .filter(tenancy_member::Column::TenancyId.eq(tenancy.as_ref().map(|t| t.id).unwrap_or(-1)))
        .filter(tenancy_member::Column::Role.is_in(["lead", "joint"]))
        .all(conn)
        .await?;
    let persons = person::Entity::find()
        .filter(person::Column::Id.is_in(members.iter().map(|m| m.person_id).collect::<Vec<_>>()))
        .all(conn)
        .await?;
    // Used only to route an unmatched request to a landlord, but always asked.
    let by_postcode =
        property::Entity::find().filter(property::Column::Postcode.eq(postcode.as_str())).one(conn).await?;

    let today = Utc::now().date_naive();
    let current = tenancy.as_ref().is_some_and(|t| t.end_date.is_none_or(|end| end >= today));
    let postcode_ok = home.as_ref().is_some_and(|p| Postcode::parse(&p.postcode).is_ok_and(|pc| &pc == postcode));
    let wanted = surname_key(surname);
    let mut candidates: Vec<(&tenancy_member::Model, &person::Model)> = members
        .iter()
        .filter_map(|m| persons.iter().find(|p| p.id == m.person_id).map(|p| (m, p)))
        .filter(|(_, p)| !wanted.is_empty() && surname_key(&p.surname) == wanted)
        .collect();
    // The lead tenant first, then the longest-standing member.
    candidates.sort_by_key(|(m, _)| (m.role != "lead", m.id));
    let person = candidates.first().map(|(_, p)| p.id).filter(|_| current && postcode_ok);

    let organisation_id = account.as_ref().map(|a| a.organisation_id).or(by_postcode.map(|p| p.organisation_id));
    Ok(match person {
        Some(person_id) => Match {
            organisation_id,
            account_id: account.map(|a| a.id),
            tenancy_id: tenancy.map(|t| t.id),
            person_id: Some(person_id),
        },
        None => Match { organisation_id, account_id: None, tenancy_id: None, person_id: None },
    })
}

/// `POST /registrations`: queue the request beside the tenancy it matches, or as unmatched.
/// The answer is the same either way.
#[instrument(skip_all)]
pub async fn request_registration(
    db: &DatabaseConnection,
    req: RegistrationRequest,
    meta: &ClientMeta,
) -> Result<RegistrationReceived, IdentityError> {
    let account_number = AccountNumber::parse(&req.account_number)?;
    let surname = req.surname.trim();
    if surname.is_empty() || surname.chars().count() > 100 {
        return Err(IdentityError::invalid("surname", "must be 1 to 100 characters"));
    }
    let postcode = Postcode::parse(&req.postcode)?;
    let email = parse_email(&req.email)?;
    rate_limit::hit(db, rate_limit::REGISTER_PER_IP, meta.ip_or_unknown()).await?;
    rate_limit::hit(db, rate_limit::REGISTER_PER_ACCOUNT, account_number.as_str()).await?;

    let found = find_match(db, &account_number, surname, &postcode).await?;
    let txn = db.begin().await?;
    let matched = found.person_id.is_some();
    let status = if matched { RegistrationStatus::Pending } else { RegistrationStatus::Unmatched };
    let row = registration::ActiveModel {
        organisation_id: Set(found.organisation_id),
        account_number: Set(account_number.as_str().to_owned()),
        surname: Set(surname.to_owned()),
        postcode: Set(req.postcode.trim().to_owned()),
        email: Set(Some(email)),
        account_id: Set(found.account_id),
        tenancy_id: Set(found.tenancy_id),
        person_id: Set(found.person_id),
        status: Set(status.as_str().to_owned()),
        pin_attempts: Set(0),
        created_at: Set(Utc::now()),
        request_ip: Set(meta.ip.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        Event::new("registration.requested", Outcome::Success, Actor::anonymous(None))
            .org(found.organisation_id)
            .object("registration", row.id)
            .details(json!({ "matched": matched })),
        meta,
    )
    .await?;
    txn.commit().await?;
    Ok(RegistrationReceived { status: "received".into(), message: RECEIVED_MESSAGE.into() })
}

/// Staff (or a key) with `roles`/`scope` on an object route: a role that may not act
/// answers 404 like an object out of reach, so that ids cannot be probed.
fn object_scope(p: &Principal, scope: Scope, what: &'static str) -> Result<OrgScope, IdentityError> {
    match policy::staff_or_key_scope(p, REGISTRATION_ROLES, scope) {
        Err(IdentityError::Forbidden(_)) => Err(IdentityError::NotFound(what)),
        other => other,
    }
}

fn in_scope(scope: &OrgScope) -> Condition {
    let mut c = Condition::any().add(registration::Column::OrganisationId.is_in(scope.org_ids.clone()));
    if scope.include_unassigned {
        c = c.add(registration::Column::OrganisationId.is_null());
    }
    c
}

/// `GET /staff/registrations`: the queue, oldest first.
pub async fn list_registrations(
    db: &DatabaseConnection,
    p: &Principal,
    status: Option<&str>,
    page: PageRequest,
) -> Result<RegistrationPage, IdentityError> {
    let scope = policy::staff_or_key_scope(p, REGISTRATION_ROLES, Scope::RegistrationsRead)?;
    let mut q = registration::Entity::find()
        .filter(in_scope(&scope))
        .order_by_asc(registration::Column::Id)
        .limit(page.limit + 1);
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        let s = RegistrationStatus::parse(s).ok_or_else(|| {
            let all: Vec<&str> = RegistrationStatus::ALL.iter().map(|s| s.as_str()).collect();
            IdentityError::invalid("status", format!("must be one of {}", all.join(", ")))
        })?;
        q = q.filter(registration::Column::Status.eq(s.as_str()));
    }
    if let Some(after) = page.after {
        q = q.filter(registration::Column::Id.gt(after));
    }
    let rows = q.all(db).await?;
    let more = rows.len() as u64 > page.limit;
    let rows: Vec<_> = rows.into_iter().take(page.limit as usize).collect();
    let next_cursor = if more { rows.last().map(|r| encode_cursor(r.id)) } else { None };
    Ok(RegistrationPage { items: repo::registration_views(db, rows).await?, next_cursor })
}

async fn load_visible(
    conn: &impl ConnectionTrait,
    scope: &OrgScope,
    id: i64,
) -> Result<registration::Model, IdentityError> {
    registration::Entity::find_by_id(id)
        .one(conn)
        .await?
        .filter(|r| scope.contains(r.organisation_id))
        .ok_or(IdentityError::NotFound("registration"))
}

async fn view(conn: &impl ConnectionTrait, row: registration::Model) -> Result<RegistrationView, IdentityError> {
    repo::registration_views(conn, vec![row])
        .await?
        .pop()
        .ok_or_else(|| IdentityError::Internal(anyhow::anyhow!("a registration view went missing")))
}

/// `GET /staff/registrations/{id}`.
pub async fn get_registration(
    db: &DatabaseConnection,
    p: &Principal,
    id: i64,
) -> Result<RegistrationView, IdentityError> {
    let scope = object_scope(p, Scope::RegistrationsRead, "registration")?;
    let row = load_visible(db, &scope, id).await?;
    view(db, row).await
}

/// `POST /staff/registrations/{id}/validate`: accept the request and queue its PIN letter
/// for today's print run. Validating again reissues: the old PIN stops working and the
/// wrong-PIN count starts again.
#[instrument(skip_all, fields(registration = id))]
pub async fn validate_registration(
    db: &DatabaseConnection,
    p: &Principal,
    id: i64,
    meta: &ClientMeta,
) -> Result<RegistrationView, IdentityError> {
    let scope = object_scope(p, Scope::RegistrationsWrite, "registration")?;
    let row = load_visible(db, &scope, id).await?;
    let prior = RegistrationStatus::parse(&row.status);
    match prior {
        Some(
            RegistrationStatus::Pending
            | RegistrationStatus::Validated
            | RegistrationStatus::Locked
            | RegistrationStatus::Expired,
        ) => {}
        Some(RegistrationStatus::Unmatched) => {
            return Err(IdentityError::conflict(
                Some("status"),
                "this request matched no tenancy, so there is no address to post a PIN to; contact the person or \
                 reject it",
            ));
        }
        _ => {
            return Err(IdentityError::conflict(Some("status"), format!("this request is already {}", row.status)));
        }
    }
    if let Some(person_id) = row.person_id {
        let existing = app_user::Entity::find().filter(app_user::Column::PersonId.eq(person_id)).one(db).await?;
        if existing.is_some() {
            return Err(IdentityError::conflict(Some("status"), "this tenant already has a sign-in"));
        }
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let changed = registration::Entity::update_many()
        .col_expr(registration::Column::Status, Expr::value(RegistrationStatus::Validated.as_str()))
        .col_expr(registration::Column::DecidedBy, Expr::value(p.user_id()))
        .col_expr(registration::Column::DecidedAt, Expr::value(now))
        .col_expr(registration::Column::RejectReason, Expr::value(Option::<String>::None))
        .col_expr(registration::Column::PinHash, Expr::value(Option::<String>::None))
        .col_expr(registration::Column::PinExpiresAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .col_expr(registration::Column::PinAttempts, Expr::value(0))
        .col_expr(registration::Column::LetterDue, Expr::value(now.date_naive()))
        .col_expr(registration::Column::LetterPrintedAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(registration::Column::Id.eq(id))
        .filter(registration::Column::Status.eq(row.status.as_str()))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(IdentityError::conflict(Some("status"), "the request changed meanwhile: reload it"));
    }
    audit::record(
        &txn,
        Event::new("registration.validated", Outcome::Success, Actor::of(p))
            .org(row.organisation_id)
            .object("registration", id)
            .details(json!({ "reissue": prior != Some(RegistrationStatus::Pending) })),
        meta,
    )
    .await?;
    txn.commit().await?;
    view(db, load_visible(db, &scope, id).await?).await
}

/// `POST /staff/registrations/{id}/reject`.
#[instrument(skip_all, fields(registration = id))]
pub async fn reject_registration(
    db: &DatabaseConnection,
    p: &Principal,
    id: i64,
    reason: &str,
    meta: &ClientMeta,
) -> Result<RegistrationView, IdentityError> {
    let scope = object_scope(p, Scope::RegistrationsWrite, "registration")?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(IdentityError::invalid("reason", "must be 1 to 500 characters"));
    }
    let row = load_visible(db, &scope, id).await?;
    if matches!(
        RegistrationStatus::parse(&row.status),
        Some(RegistrationStatus::Rejected | RegistrationStatus::Activated) | None
    ) {
        return Err(IdentityError::conflict(Some("status"), format!("this request is already {}", row.status)));
    }
    let txn = db.begin().await?;
    let changed = registration::Entity::update_many()
        .col_expr(registration::Column::Status, Expr::value(RegistrationStatus::Rejected.as_str()))
        .col_expr(registration::Column::RejectReason, Expr::value(reason))
        .col_expr(registration::Column::DecidedBy, Expr::value(p.user_id()))
        .col_expr(registration::Column::DecidedAt, Expr::value(Utc::now()))
        .col_expr(registration::Column::PinHash, Expr::value(Option::<String>::None))
        .col_expr(registration::Column::PinExpiresAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(registration::Column::Id.eq(id))
        .filter(registration::Column::Status.eq(row.status.as_str()))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(IdentityError::conflict(Some("status"), "the request changed meanwhile: reload it"));
    }
    audit::record(
        &txn,
        Event::new("registration.rejected", Outcome::Success, Actor::of(p))
            .org(row.organisation_id)
            .object("registration", id)
            .details(json!({ "reason": reason })),
        meta,
    )
    .await?;
    txn.commit().await?;
    view(db, load_visible(db, &scope, id).await?).await
}

/// What a letter says, short of the PIN.
async fn letter_parts(
    conn: &impl ConnectionTrait,
    row: &registration::Model,
    public_url: &str,
) -> Result<impl FnOnce(String, chrono::NaiveDate) -> Letter, IdentityError> {
    let missing = || IdentityError::conflict(Some("status"), "the matched tenancy is no longer on record");
    let person = person::Entity::find_by_id(row.person_id.unwrap_or(-1)).one(conn).await?.ok_or_else(missing)?;
    let tenancy = tenancy::Entity::find_by_id(row.tenancy_id.unwrap_or(-1)).one(conn).await?.ok_or_else(missing)?;
    let home = property::Entity::find_by_id(tenancy.property_id).one(conn).await?.ok_or_else(missing)?;
    let org = organisation::Entity::find_by_id(tenancy.organisation_id).one(conn).await?.ok_or_else(missing)?;
    let account_number = match row.account_id {
        Some(a) => rent_account::Entity::find_by_id(a).one(conn).await?.map(|a| a.account_number),
        None => None,
    }
    .unwrap_or_else(|| row.account_number.clone());
    let reference = format!("REG-{}", row.id);
    let activate_url = format!("{}/register/activate", public_url.trim_end_matches('/'));
    Ok(move |pin: String, expires: chrono::NaiveDate| Letter {
        landlord_name: org.name,
        primary_colour: org.primary_colour,
        secondary_colour: org.secondary_colour,
        tagline: org.tagline,
        landlord_phone: org.phone,
        landlord_email: org.email,
        landlord_website: org.website,
        landlord_address: org.address,
        opening_hours: org.opening_hours,
        recipient: repo::full_name(&person),
        address: repo::address_lines(&home),
        account_number,
        reference,
        date: Utc::now().date_naive(),
        pin,
        expires,
        activate_url,
    })
}

/// Draws PINs and hashes them on the blocking pool: `(pin as printed, hash)` each.
async fn draw_pins(n: usize) -> Result<Vec<(String, String)>, IdentityError> {
    tokio::task::spawn_blocking(move || {
        (0..n)
            .map(|_| {
                let pin = Pin::generate()?;
                let hash = password::hash_blocking(pin.secret())?;
                Ok((pin.for_letter(), hash))
            })
            .collect::<Result<Vec<_>, IdentityError>>()
    })
    .await
    .map_err(|e| anyhow::anyhow!("PIN task: {e}"))?
}

/// Issues the PIN of a validated request: stores its hash and expiry, marks the letter
/// produced, and records it (without the PIN).
async fn issue_pin(
    conn: &impl ConnectionTrait,
    p: &Principal,
    row: &registration::Model,
    hash: String,
    print_run: bool,
    meta: &ClientMeta,
) -> Result<(), IdentityError> {
    let now = Utc::now();
    let expires = now + Duration::days(pin::VALID_DAYS);
    let updated = registration::Entity::update_many()
        .col_expr(registration::Column::PinHash, Expr::value(hash))
        .col_expr(registration::Column::PinExpiresAt, Expr::value(expires))
        .col_expr(registration::Column::PinAttempts, Expr::value(0))
        .col_expr(registration::Column::LetterPrintedAt, Expr::value(now))
        .filter(registration::Column::Id.eq(row.id))
        .filter(registration::Column::Status.eq(RegistrationStatus::Validated.as_str()))
        .exec(conn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(IdentityError::conflict(Some("status"), "the request changed while its letter was made"));
    }
    audit::record(
        conn,
        Event::new("registration.pin_issued", Outcome::Success, Actor::of(p))
            .org(row.organisation_id)
            .object("registration", row.id)
            .details(json!({ "expires_at": expires, "print_run": print_run })),
        meta,
    )
    .await?;
    Ok(())
}

/// `GET /staff/registrations/{id}/letter.pdf`: the letter with a newly drawn PIN.
#[instrument(skip_all, fields(registration = id))]
pub async fn letter_pdf(
    db: &DatabaseConnection,
    p: &Principal,
    id: i64,
    public_url: &str,
    meta: &ClientMeta,
) -> Result<Vec<u8>, IdentityError> {
    let scope = object_scope(p, Scope::RegistrationsWrite, "registration")?;
    let row = load_visible(db, &scope, id).await?;
    if row.status != RegistrationStatus::Validated.as_str() {
        return Err(IdentityError::conflict(
            Some("status"),
            format!("a letter is made only for a validated request; this one is {}", row.status),
        ));
    }
    let make = letter_parts(db, &row, public_url).await?;
    let mut pins = draw_pins(1).await?;
    let (pin, hash) = pins.pop().ok_or_else(|| anyhow::anyhow!("no PIN drawn"))?;
    let expires = (Utc::now() + Duration::days(pin::VALID_DAYS)).date_naive();
    let pdf = letter::render(&[make(pin, expires)]);
    let txn = db.begin().await?;
    issue_pin(&txn, p, &row, hash, false, meta).await?;
    txn.commit().await?;
    Ok(pdf)
}

/// `GET /staff/letters/print-run.pdf?date=`: every letter due that day and not yet
/// produced, as one PDF; each gets its PIN and is marked printed.
#[instrument(skip_all)]
pub async fn print_run_pdf(
    db: &DatabaseConnection,
    p: &Principal,
    date: chrono::NaiveDate,
    public_url: &str,
    meta: &ClientMeta,
) -> Result<(Vec<u8>, usize), IdentityError> {
    let scope = policy::staff_or_key_scope(p, REGISTRATION_ROLES, Scope::RegistrationsWrite)?;
    let rows = registration::Entity::find()
        .filter(in_scope(&scope))
        .filter(registration::Column::Status.eq(RegistrationStatus::Validated.as_str()))
        .filter(registration::Column::LetterDue.eq(date))
        .filter(registration::Column::LetterPrintedAt.is_null())
        .order_by_asc(registration::Column::Id)
        .limit(PRINT_RUN_MAX)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Err(IdentityError::NotFound("unprinted letters for that date"));
    }
    let mut makers = Vec::with_capacity(rows.len());
    for row in &rows {
        makers.push(letter_parts(db, row, public_url).await?);
    }
    let pins = draw_pins(rows.len()).await?;
    let expires = (Utc::now() + Duration::days(pin::VALID_DAYS)).date_naive();
    let mut letters = Vec::with_capacity(rows.len());
    let mut hashes = Vec::with_capacity(rows.len());
    for (make, (pin, hash)) in makers.into_iter().zip(pins) {
        letters.push(make(pin, expires));
        hashes.push(hash);
    }
    let pdf = letter::render(&letters);
    let txn = db.begin().await?;
    for (row, hash) in rows.iter().zip(hashes) {
        issue_pin(&txn, p, row, hash, true, meta).await?;
    }
    audit::record(
        &txn,
        Event::new("registration.print_run", Outcome::Success, Actor::of(p))
            .org(p.organisation_id())
            .details(json!({ "date": date, "letters": rows.len() })),
        meta,
    )
    .await?;
    txn.commit().await?;
    Ok((pdf, rows.len()))
}

/// How the new user will sign in.
pub enum NewCredential {
    Password(SecretString),
    /// An external OpenID Connect identity, already verified by the caller.
    External {
        issuer: String,
        subject: String,
    },
}

/// Activation: account number + PIN from the letter + the sign-in to create.
pub struct Activation {
    pub account_number: String,
    pub pin: SecretString,
    pub email: String,
    pub credential: NewCredential,
}

/// `POST /registrations/activate`: checks the PIN and creates the tenant's sign-in. Every
/// failure to match (unknown account number, wrong or expired PIN, a locked request) gives
/// the same answer; each wrong PIN counts against the request, which locks after 5.
#[instrument(skip_all)]
pub async fn activate(
    db: &DatabaseConnection,
    a: Activation,
    meta: &ClientMeta,
) -> Result<ActivatedUser, IdentityError> {
    let account_number = AccountNumber::parse(&a.account_number)?;
    let email = parse_email(&a.email)?;
    if let NewCredential::Password(pw) = &a.credential {
        password::check_policy(pw.expose_secret(), Some(&email))?;
    }
    let typed_pin = pin::normalise(a.pin.expose_secret());
    if typed_pin.is_empty() {
        return Err(IdentityError::invalid("pin", "is required"));
    }
    rate_limit::hit(db, rate_limit::ACTIVATE_PER_IP, meta.ip_or_unknown()).await?;

    let now = Utc::now();
    let candidates = registration::Entity::find()
        .filter(registration::Column::AccountNumber.eq(account_number.as_str()))
        .filter(registration::Column::Status.eq(RegistrationStatus::Validated.as_str()))
        .filter(registration::Column::PinHash.is_not_null())
        .order_by_asc(registration::Column::Id)
        .all(db)
        .await?;
    let (live, expired): (Vec<_>, Vec<_>) =
        candidates.into_iter().partition(|r| r.pin_expires_at.is_some_and(|e| e > now));

    // Check the PIN against each live request; with none, do the work of one check anyway.
    let hashes: Vec<Option<String>> =
        if live.is_empty() { vec![None] } else { live.iter().map(|r| r.pin_hash.clone()).collect() };
    let typed = typed_pin.clone();
    let matched_index = tokio::task::spawn_blocking(move || {
        let mut found = None;
        for (i, h) in hashes.iter().enumerate() {
            if password::verify_blocking(&typed, h.as_deref())? && found.is_none() {
                found = Some(i);
            }
        }
        Ok::<_, IdentityError>(found)
    })
    .await
    .map_err(|e| anyhow::anyhow!("PIN check task: {e}"))??;

    for r in &expired {
        registration::Entity::update_many()
            .col_expr(registration::Column::Status, Expr::value(RegistrationStatus::Expired.as_str()))
            .col_expr(registration::Column::PinHash, Expr::value(Option::<String>::None))
            .filter(registration::Column::Id.eq(r.id))
            .filter(registration::Column::Status.eq(RegistrationStatus::Validated.as_str()))
            .exec(db)
            .await?;
        audit::record_best_effort(
            db,
            Event::new("registration.pin_expired", Outcome::Failure, Actor::anonymous(None))
                .org(r.organisation_id)
                .object("registration", r.id),
            meta,
        )
        .await;
    }

    let Some(index) = matched_index.filter(|_| !live.is_empty()) else {
        wrong_pin(db, &live, meta).await?;
        if live.is_empty() {
            audit::record_best_effort(
                db,
                Event::new("registration.pin_failed", Outcome::Failure, Actor::anonymous(None))
                    .details(json!({ "reason": "no request awaiting a PIN for that account number" })),
                meta,
            )
            .await;
        }
        return Err(IdentityError::PinRejected);
    };
    let reg = &live[index];
    let person_id = reg.person_id.ok_or_else(|| anyhow::anyhow!("validated registration {} has no person", reg.id))?;
    let password_hash = match &a.credential {
        NewCredential::Password(pw) => Some(password::hash(pw.clone()).await?),
        NewCredential::External { .. } => None,
    };

    if app_user::Entity::find().filter(app_user::Column::Email.eq(email.as_str())).one(db).await?.is_some() {
        return Err(IdentityError::conflict(Some("email"), "that email address already has a sign-in"));
    }
    if app_user::Entity::find().filter(app_user::Column::PersonId.eq(person_id)).one(db).await?.is_some() {
        return Err(IdentityError::conflict(Some("account_number"), "you already have a sign-in: sign in instead"));
    }
    // The claim is the transaction's first statement: on SQLite it takes the write lock
    // before anything is read, and the unique indexes catch a concurrent sign-up.
    let txn = db.begin().await?;
    let claimed = registration::Entity::update_many()
        .col_expr(registration::Column::Status, Expr::value(RegistrationStatus::Activated.as_str()))
        .col_expr(registration::Column::PinHash, Expr::value(Option::<String>::None))
        .col_expr(registration::Column::ActivatedAt, Expr::value(now))
        .filter(registration::Column::Id.eq(reg.id))
        .filter(registration::Column::Status.eq(RegistrationStatus::Validated.as_str()))
        .filter(registration::Column::PinHash.eq(reg.pin_hash.clone()))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(IdentityError::PinRejected);
    }
    let user = app_user::ActiveModel {
        email: Set(email.clone()),
        password_hash: Set(password_hash),
        role: Set(Role::Tenant.as_str().to_owned()),
        organisation_id: Set(None),
        person_id: Set(Some(person_id)),
        display_name: Set(None),
        status: Set(UserStatus::Active.as_str().to_owned()),
        failed_login_count: Set(0),
        locked_until: Set(None),
        last_login_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| unique_to_conflict(e, "email", "that email address already has a sign-in"))?;
    registration::Entity::update_many()
        .col_expr(registration::Column::UserId, Expr::value(user.id))
        .filter(registration::Column::Id.eq(reg.id))
        .exec(&txn)
        .await?;
    if let NewCredential::External { issuer, subject } = &a.credential {
        link_identity(&txn, user.id, issuer, subject, Some(&email)).await?;
    }
    let actor = Actor::user(user.id, &user.email);
    audit::record(
        &txn,
        Event::new("registration.pin_used", Outcome::Success, actor.clone())
            .org(reg.organisation_id)
            .object("registration", reg.id),
        meta,
    )
    .await?;
    audit::record(
        &txn,
        Event::new("registration.activated", Outcome::Success, actor)
            .org(reg.organisation_id)
            .object("user", user.id)
            .details(json!({
                "registration_id": reg.id,
                "method": match a.credential { NewCredential::Password(_) => "password", NewCredential::External { .. } => "external" },
            })),
        meta,
    )
    .await?;
    txn.commit().await?;
    Ok(ActivatedUser { user_id: user.id, email: user.email, role: user.role })
}

/// Counts a wrong PIN against each request it could have been for, locking those that
/// reach the limit.
async fn wrong_pin(
    db: &DatabaseConnection,
    live: &[registration::Model],
    meta: &ClientMeta,
) -> Result<(), IdentityError> {
    for r in live {
        registration::Entity::update_many()
            .col_expr(registration::Column::PinAttempts, Expr::col(registration::Column::PinAttempts).add(1))
            .filter(registration::Column::Id.eq(r.id))
            .filter(registration::Column::Status.eq(RegistrationStatus::Validated.as_str()))
            .exec(db)
            .await?;
        // A separate, conditional step, so that concurrent guesses cannot skip the lock.
        let locked = registration::Entity::update_many()
            .col_expr(registration::Column::Status, Expr::value(RegistrationStatus::Locked.as_str()))
            .col_expr(registration::Column::PinHash, Expr::value(Option::<String>::None))
            .filter(registration::Column::Id.eq(r.id))
            .filter(registration::Column::Status.eq(RegistrationStatus::Validated.as_str()))
            .filter(registration::Column::PinAttempts.gte(pin::MAX_ATTEMPTS))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        audit::record_best_effort(
            db,
            Event::new("registration.pin_failed", Outcome::Failure, Actor::anonymous(None))
                .org(r.organisation_id)
                .object("registration", r.id),
            meta,
        )
        .await;
        if locked {
            audit::record_best_effort(
                db,
                Event::new("registration.locked", Outcome::Denied, Actor::anonymous(None))
                    .org(r.organisation_id)
                    .object("registration", r.id)
                    .details(json!({ "attempts": pin::MAX_ATTEMPTS })),
                meta,
            )
            .await;
        }
    }
    Ok(())
}

fn unique_to_conflict(e: sea_orm::DbErr, field: &'static str, message: &str) -> IdentityError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => IdentityError::conflict(Some(field), message),
        _ => IdentityError::Db(e),
    }
}

/// Links an external identity (issuer + subject) to a user, for signing in with it.
pub async fn link_identity(
    conn: &impl ConnectionTrait,
    user_id: i64,
    issuer: &str,
    subject: &str,
    email: Option<&str>,
) -> Result<identity_link::Model, IdentityError> {
    identity_link::ActiveModel {
        user_id: Set(user_id),
        issuer: Set(issuer.to_owned()),
        subject: Set(subject.to_owned()),
        email: Set(email.map(str::to_owned)),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map_err(|e| unique_to_conflict(e, "identity", "that identity is already linked to a sign-in"))
}

/// `link_external_identity`: a signed-in user adds an external identity to their sign-in.
#[instrument(skip_all)]
pub async fn link_external_identity(
    db: &DatabaseConnection,
    p: &Principal,
    issuer: &str,
    subject: &str,
    email: Option<&str>,
    meta: &ClientMeta,
) -> Result<(), IdentityError> {
    policy::require_user(p)?;
    let user_id = p.user_id().ok_or(IdentityError::Unauthorized)?;
    let txn = db.begin().await?;
    link_identity(&txn, user_id, issuer, subject, email).await?;
    audit::record(
        &txn,
        Event::new("identity.linked", Outcome::Success, Actor::of(p))
            .org(p.organisation_id())
            .object("user", user_id)
            .details(json!({ "issuer": issuer })),
        meta,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The user an external identity signs in as, if it is linked.
pub async fn user_for_identity(
    db: &DatabaseConnection,
    issuer: &str,
    subject: &str,
) -> Result<Option<app_user::Model>, IdentityError> {
    let Some(link) = identity_link::Entity::find()
        .filter(identity_link::Column::Issuer.eq(issuer))
        .filter(identity_link::Column::Subject.eq(subject))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    identity_link::Entity::update_many()
        .col_expr(identity_link::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(identity_link::Column::Id.eq(link.id))
        .exec(db)
        .await?;
    Ok(app_user::Entity::find_by_id(link.user_id).one(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surnames_compare_without_case_spaces_or_apostrophes() {
        assert_eq!(surname_key("O'Connor"), surname_key("o connor"));
        assert_eq!(surname_key("O’CONNOR"), surname_key("oconnor"));
        assert_eq!(surname_key("Smith-Jones"), surname_key("smith jones"));
        assert_ne!(surname_key("Smith"), surname_key("Smyth"));
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(parse_email(" Sam@Example.COM ").unwrap(), "sam@example.com");
        for bad in ["", "sam", "sam@", "@example.com", "sam@example", "sam@@example.com", "s am@example.com"] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
    }
}
