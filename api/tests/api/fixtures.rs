//! Small, explicit fixtures: a home, a tenancy and an account, made directly in the database.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use doorstep::entity::{organisation, property, rent_account, tenancy};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};

static N: AtomicU64 = AtomicU64::new(1);

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

pub async fn org(db: &DatabaseConnection, slug: &str) -> i64 {
    organisation::ActiveModel {
        slug: Set(slug.into()),
        name: Set(format!("{slug} housing")),
        parent_id: Set(None),
        primary_colour: Set("#00507a".into()),
        secondary_colour: Set("#ffd200".into()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("org")
    .id
}

/// A home, a tenancy from `opened` and an account of `kind` charging `weekly_pence`.
pub async fn account(
    db: &DatabaseConnection,
    org_id: i64,
    kind: &str,
    weekly_pence: i64,
    opened: &str,
) -> rent_account::Model {
    let n = N.fetch_add(1, Ordering::Relaxed);
    let p = property::ActiveModel {
        organisation_id: Set(org_id),
        hms_ref: Set(format!("P{n}")),
        address_line1: Set(format!("{n} Mill Lane")),
        town: Set("Halifax".into()),
        postcode: Set("HX1 1AA".into()),
        kind: Set("home".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("property");
    let t = tenancy::ActiveModel {
        organisation_id: Set(org_id),
        hms_ref: Set(format!("T{n}")),
        property_id: Set(p.id),
        tenure: Set("secure".into()),
        start_date: Set(date(opened)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("tenancy");
    rent_account::ActiveModel {
        organisation_id: Set(org_id),
        tenancy_id: Set(t.id),
        hms_ref: Set(format!("A{n}")),
        account_number: Set(format!("{:08}", 10_000_000 + n)),
        kind: Set(kind.into()),
        weekly_charge_pence: Set(weekly_pence),
        balance_pence: Set(0),
        version: Set(0),
        opened_on: Set(date(opened)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("account")
}
