//! `seed-demo` at a tiny scale: the landlord group's shape, the ledger's invariants, and
//! determinism.

use chrono::NaiveDate;
use doorstep::domain::demo::{self, NoProgress, SeedError, SeedOptions};
use doorstep::domain::ledger::bulk::{self, Backend, BulkError, HistoryChunk};
use doorstep::domain::ledger::{self, Channel, EntryKind};
use doorstep_shared::Money;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::support::TestDb;

/// A Friday: charges go on on Mondays and most weekly payers have paid by Friday.
pub fn tiny(seed: u64) -> SeedOptions {
    SeedOptions { scale: 60, years: 2, seed, today: NaiveDate::from_ymd_opt(2025, 11, 21) }
}

pub async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get::<i64>("", "n").unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.try_get::<String>("", "s").unwrap_or_else(|e| panic!("{sql}: {e}")))
        .collect()
}

async fn seeded(opts: &SeedOptions) -> TestDb {
    let t = TestDb::new().await;
    demo::seed(&t.db, opts, &NoProgress).await.expect("seed");
    t
}

#[tokio::test]
async fn three_landlords_a_group_and_its_two_subsidiaries() {
    let t = seeded(&tiny(1)).await;
    let db = &t.db;
    assert_eq!(
        strings(
            db,
            "SELECT o.slug || ':' || COALESCE(p.slug, '-') AS s FROM organisation o \
             LEFT JOIN organisation p ON p.id = o.parent_id ORDER BY o.slug"
        )
        .await,
        ["calder-riverside:pennine-vale", "pennine-vale:-", "pennine-vale-homes:pennine-vale"]
    );
    // Every landlord carries its branding and contacts.
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM organisation WHERE tagline IS NULL OR phone IS NULL OR emergency_phone IS NULL \
             OR email IS NULL OR website IS NULL OR address IS NULL OR opening_hours IS NULL"
        )
        .await,
        0
    );
    // 60 tenancies of homes, each with a lead tenant and a rent account; garages on licences.
    assert_eq!(
        scalar(db, "SELECT COUNT(*) AS n FROM tenancy WHERE tenure <> 'licence' AND end_date IS NULL").await,
        60
    );
    // Homes let within the window had a tenancy before: ended, its account closed.
    assert!(scalar(db, "SELECT COUNT(*) AS n FROM tenancy WHERE end_date IS NOT NULL").await > 5);
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM tenancy t JOIN rent_account a ON a.tenancy_id = t.id \
             WHERE t.end_date IS NOT NULL AND (a.closed_on IS NULL OR a.closed_on <> t.end_date \
                OR a.last_entry_date > a.closed_on)"
        )
        .await,
        0
    );
    // A property has at most one current tenancy.
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM (SELECT property_id FROM tenancy WHERE end_date IS NULL \
             GROUP BY property_id HAVING COUNT(*) > 1) x"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM tenancy t WHERE \
             (SELECT COUNT(*) FROM tenancy_member m WHERE m.tenancy_id = t.id AND m.role = 'lead') <> 1"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM tenancy t JOIN property p ON p.id = t.property_id WHERE p.kind = 'home' AND \
             (SELECT COUNT(*) FROM rent_account a WHERE a.tenancy_id = t.id AND a.kind = 'rent') <> 1"
        )
        .await,
        0
    );
    // Homes have officers, grid references in West Yorkshire and real-looking postcodes.
    assert_eq!(scalar(db, "SELECT COUNT(*) AS n FROM property WHERE housing_officer_id IS NULL").await, 0);
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM property WHERE easting NOT BETWEEN 385000 AND 440000 \
             OR northing NOT BETWEEN 405000 AND 440000"
        )
        .await,
        0
    );
    for pc in strings(db, "SELECT postcode AS s FROM property").await {
        assert!(doorstep_shared::Postcode::parse(&pc).is_ok_and(|p| p.as_str() == pc), "{pc}");
        assert!(["HX", "HD", "OL", "WF"].iter().any(|a| pc.starts_with(a)), "{pc}");
    }
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM (SELECT address_line1, town FROM property WHERE kind = 'home' \
             GROUP BY address_line1, town HAVING COUNT(*) > 1) x"
        )
        .await,
        0,
        "two homes with one address"
    );
    assert!(scalar(db, "SELECT COUNT(*) AS n FROM planned_work").await > 0);
    assert!(scalar(db, "SELECT COUNT(*) AS n FROM property_feature").await > 0);
    assert!(scalar(db, "SELECT COUNT(*) AS n FROM person WHERE date_of_birth IS NULL").await == 0);
}

#[tokio::test]
async fn every_cached_balance_is_the_sum_of_its_entries() {
    let t = seeded(&tiny(2)).await;
    let db = &t.db;
    assert!(scalar(db, "SELECT COUNT(*) AS n FROM ledger_entry").await > 5_000);
    // One query over every account: balance, version and last entry date agree with the ledger.
    let wrong = scalar(
        db,
        "SELECT COUNT(*) AS n FROM rent_account a LEFT JOIN \
           (SELECT account_id, SUM(amount_pence) AS total, COUNT(*) AS entries, MAX(effective_date) AS last \
            FROM ledger_entry GROUP BY account_id) e ON e.account_id = a.id \
         WHERE a.balance_pence <> COALESCE(e.total, 0) OR a.version <> COALESCE(e.entries, 0) \
            OR a.last_entry_date IS DISTINCT FROM e.last",
    )
    .await;
    assert_eq!(wrong, 0);
    // And each entry's balance_after is the running sum in (date, id) order.
    let wrong = scalar(
        db,
        "SELECT COUNT(*) AS n FROM (SELECT balance_after_pence, SUM(amount_pence) OVER \
           (PARTITION BY account_id ORDER BY effective_date, id) AS running FROM ledger_entry) x \
         WHERE running <> balance_after_pence",
    )
    .await;
    assert_eq!(wrong, 0);
    // Signs follow the kinds.
    let wrong = scalar(
        db,
        "SELECT COUNT(*) AS n FROM ledger_entry WHERE (kind IN ('charge', 'refund') AND amount_pence <= 0) \
         OR (kind IN ('payment', 'housing_benefit', 'universal_credit') AND amount_pence >= 0)",
    )
    .await;
    assert_eq!(wrong, 0);
}

#[tokio::test]
async fn some_owe_some_are_in_credit_and_every_channel_pays() {
    let t = seeded(&SeedOptions { scale: 150, ..tiny(3) }).await;
    let db = &t.db;
    let rent = scalar(db, "SELECT COUNT(*) AS n FROM rent_account WHERE kind = 'rent'").await;
    let arrears = scalar(db, "SELECT COUNT(*) AS n FROM rent_account WHERE kind = 'rent' AND balance_pence > 0").await;
    let credit = scalar(db, "SELECT COUNT(*) AS n FROM rent_account WHERE kind = 'rent' AND balance_pence < 0").await;
    assert!(arrears * 100 / rent >= 15 && arrears * 100 / rent <= 50, "{arrears} of {rent} in arrears");
    assert!(credit * 100 / rent >= 15, "{credit} of {rent} in credit");
    assert!(scalar(db, "SELECT COUNT(*) AS n FROM rent_account WHERE kind = 'garage'").await > 5);
    assert!(scalar(db, "SELECT COUNT(*) AS n FROM rent_account WHERE kind = 'community_alarm'").await > 2);
    let channels =
        strings(db, "SELECT DISTINCT channel AS s FROM ledger_entry WHERE channel IS NOT NULL ORDER BY 1").await;
    let mut expected: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).filter(|c| *c != "hms").collect();
    expected.sort();
    assert_eq!(channels, expected);
    // Account numbers are payment references: eight digits for rent, GAR- for garages.
    assert_eq!(
        scalar(db, "SELECT COUNT(*) AS n FROM rent_account WHERE kind = 'rent' AND LENGTH(account_number) <> 8").await,
        0
    );
    assert_eq!(
        scalar(db, "SELECT COUNT(*) AS n FROM rent_account WHERE kind = 'garage' AND account_number NOT LIKE 'GAR-%'")
            .await,
        0
    );
}

#[tokio::test]
async fn rent_free_weeks_are_recorded_and_charge_nothing() {
    let t = seeded(&tiny(4)).await;
    let db = &t.db;
    // Two a year for each landlord with homes (the group owns none).
    let weeks = scalar(db, "SELECT COUNT(*) AS n FROM rent_free_week").await;
    assert!(weeks >= 2 * 2 * 2, "{weeks}");
    assert_eq!(
        scalar(db, "SELECT COUNT(DISTINCT organisation_id) AS n FROM rent_free_week").await,
        2,
        "rent-free weeks for both landlords"
    );
    // "The week" is the Monday and the six days after it (date arithmetic differs by engine).
    let week_end = if doorstep::db::is_postgres(db) { "w.week_start + 7" } else { "date(w.week_start, '+7 days')" };
    let charged = scalar(
        db,
        &format!(
            "SELECT COUNT(*) AS n FROM ledger_entry e JOIN rent_account a ON a.id = e.account_id \
             JOIN rent_free_week w ON w.organisation_id = a.organisation_id \
               AND e.effective_date >= w.week_start AND e.effective_date < {week_end} \
             WHERE e.kind = 'charge'"
        ),
    )
    .await;
    assert_eq!(charged, 0);
    // Charges are on Mondays, every other Monday of the window has one on a long tenancy.
    assert!(scalar(db, "SELECT COUNT(*) AS n FROM ledger_entry WHERE kind = 'charge'").await > 60 * 90);
}

async fn fingerprint(db: &DatabaseConnection) -> Vec<String> {
    let mut out = strings(
        db,
        "SELECT a.account_number || ' ' || CAST(a.balance_pence AS TEXT) || ' ' || CAST(a.version AS TEXT) AS s \
         FROM rent_account a ORDER BY a.account_number",
    )
    .await;
    out.extend(strings(db, "SELECT forename || ' ' || surname AS s FROM person ORDER BY hms_ref").await);
    out.extend(strings(db, "SELECT address_line1 || ', ' || postcode AS s FROM property ORDER BY hms_ref").await);
    out.push(scalar(db, "SELECT CAST(SUM(amount_pence) AS BIGINT) AS n FROM ledger_entry").await.to_string());
    out
}

#[tokio::test]
async fn the_same_seed_makes_the_same_landlord() {
    let a = seeded(&tiny(5)).await;
    let b = seeded(&tiny(5)).await;
    let c = seeded(&tiny(6)).await;
    let fa = fingerprint(&a.db).await;
    assert_eq!(fa, fingerprint(&b.db).await);
    assert_ne!(fa, fingerprint(&c.db).await);
}

#[tokio::test]
async fn a_database_with_a_landlord_is_left_alone() {
    let t = seeded(&tiny(7)).await;
    let before = scalar(&t.db, "SELECT COUNT(*) AS n FROM ledger_entry").await;
    match demo::seed(&t.db, &tiny(7), &NoProgress).await {
        Err(SeedError::NotEmpty(3)) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM ledger_entry").await, before);
}

#[tokio::test]
async fn the_bulk_loader_refuses_accounts_that_already_have_history() {
    let t = seeded(&tiny(8)).await;
    let db = &t.db;
    let before = fingerprint(db).await;
    let postgres = doorstep::db::is_postgres(db);
    let mut chunk =
        HistoryChunk::new(if postgres { Backend::Postgres } else { Backend::Sqlite }, "test", chrono::NaiveTime::MIN);
    chunk.begin_account(1);
    chunk
        .push(
            EntryKind::Charge,
            Money::from_pence(100),
            NaiveDate::from_ymd_opt(2025, 11, 21).unwrap(),
            "x",
            "new/1",
            None,
        )
        .unwrap();
    let result = if postgres {
        let mut tx = db.get_postgres_connection_pool().begin().await.unwrap();
        bulk::write_pg(&mut tx, chunk).await
    } else {
        let mut tx = db.get_sqlite_connection_pool().begin().await.unwrap();
        bulk::write_sqlite(&mut tx, chunk).await
    };
    assert!(matches!(result, Err(BulkError::NotFresh(1))), "{result:?}");
    assert_eq!(fingerprint(db).await, before);
}

#[tokio::test]
async fn scale_zero_makes_just_the_landlords() {
    let t = seeded(&SeedOptions { scale: 0, ..tiny(9) }).await;
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM organisation").await, 3);
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM property").await, 0);
    assert!(scalar(&t.db, "SELECT COUNT(*) AS n FROM housing_officer").await >= 9);
}

#[tokio::test]
async fn the_ledger_indexes_set_aside_for_the_load_are_built_again_as_migrated() {
    let migrated = ledger::indexes::secondary(&TestDb::new().await.db).await.expect("indexes");
    assert!(migrated.iter().any(|i| i.name == "ix_ledger_entry_date_channel"), "{migrated:?}");
    let t = seeded(&tiny(1)).await;
    assert_eq!(ledger::indexes::secondary(&t.db).await.expect("indexes"), migrated);
    assert!(scalar(&t.db, "SELECT COUNT(*) AS n FROM ledger_entry").await > 1000);
}
