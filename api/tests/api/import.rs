//! `doorstep import`: the fixtures under `e2e/fixtures/hms/`, re-runs, updates,
//! `--skip-invalid`, and the drop-folder job.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use doorstep::domain::demo::{self, NoProgress, SeedOptions};
use doorstep::domain::hms::{self, ImportError, ImportOptions, ImportReport, IndexMode, Outcome, ReadError};
use doorstep::domain::ledger::{self, Channel, EntryKind, NewEntry};
use doorstep_shared::Money;
use sea_orm::DatabaseConnection;

use crate::seed::{scalar, strings};
use crate::support::TestDb;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 11, 24).unwrap()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/fixtures/hms")
}

/// A database with the demo landlords (and their officers) but no homes.
async fn landlords() -> TestDb {
    let t = TestDb::new().await;
    let opts = SeedOptions { scale: 0, years: 1, seed: 1, today: Some(today()) };
    demo::seed(&t.db, &opts, &NoProgress).await.expect("seed the landlords");
    t
}

async fn import(db: &DatabaseConnection, dir: &Path, skip_invalid: bool) -> ImportReport {
    import_with(db, dir, ImportOptions { skip_invalid, ..Default::default() }).await
}

async fn import_with(db: &DatabaseConnection, dir: &Path, opts: ImportOptions) -> ImportReport {
    let export = hms::read_dir(dir, today()).expect("read the export");
    hms::import(db, &export, opts, &hms::NoProgress).await.expect("import")
}

fn file<'a>(r: &'a ImportReport, name: &str) -> &'a hms::import::FileSummary {
    r.files.iter().find(|f| f.file == name).unwrap_or_else(|| panic!("{name} not in the report"))
}

/// Everything an import could change, except the log of runs.
async fn snapshot(db: &DatabaseConnection) -> Vec<String> {
    let mut out = Vec::new();
    for table in [
        "organisation",
        "housing_officer",
        "property",
        "person",
        "tenancy",
        "tenancy_member",
        "rent_account",
        "ledger_entry",
        "planned_work",
    ] {
        out.push(format!("{table} {}", scalar(db, &format!("SELECT COUNT(*) AS n FROM {table}")).await));
    }
    out.extend(
        strings(
            db,
            "SELECT hms_ref || ' ' || account_number || ' ' || CAST(balance_pence AS TEXT) || ' ' || \
             CAST(version AS TEXT) || ' ' || CAST(weekly_charge_pence AS TEXT) AS s FROM rent_account ORDER BY hms_ref",
        )
        .await,
    );
    out.extend(
        strings(db, "SELECT hms_ref || ' ' || forename || ' ' || surname || ' ' || COALESCE(email, '') AS s FROM person ORDER BY hms_ref")
            .await,
    );
    out.extend(
        strings(db, "SELECT hms_ref || ' ' || address_line1 || ' ' || postcode AS s FROM property ORDER BY hms_ref")
            .await,
    );
    out
}

async fn balances_are_sums(db: &DatabaseConnection) {
    let wrong = scalar(
        db,
        "SELECT COUNT(*) AS n FROM rent_account a WHERE a.balance_pence <> \
         COALESCE((SELECT SUM(amount_pence) FROM ledger_entry e WHERE e.account_id = a.id), 0)",
    )
    .await;
    assert_eq!(wrong, 0, "cached balances differ from the sum of entries");
}

/// What `doorstep ledger check` proves, and more: every entry's running balance follows from
/// the entries before it on its account (in posting order), and each account's cached
/// version and last entry date agree with its entries.
async fn ledger_is_consistent(db: &DatabaseConnection) {
    let report = ledger::check::check(db).await.expect("ledger check");
    assert!(report.is_clean(), "{report:?}");
    balances_are_sums(db).await;
    let wrong = scalar(
        db,
        "SELECT COUNT(*) AS n FROM ledger_entry e WHERE e.balance_after_pence <> \
         (SELECT SUM(x.amount_pence) FROM ledger_entry x WHERE x.account_id = e.account_id AND x.id <= e.id)",
    )
    .await;
    assert_eq!(wrong, 0, "running balances are not in posting order");
    let wrong = scalar(
        db,
        "SELECT COUNT(*) AS n FROM rent_account a WHERE a.version <> \
         (SELECT COUNT(*) FROM ledger_entry e WHERE e.account_id = a.id) \
         OR COALESCE(CAST(a.last_entry_date AS TEXT), '-') <> \
         COALESCE((SELECT CAST(MAX(e.effective_date) AS TEXT) FROM ledger_entry e WHERE e.account_id = a.id), '-')",
    )
    .await;
    assert_eq!(wrong, 0, "cached versions or last entry dates are wrong");
}

/// The fixture's files but transactions.csv, imported, and a folder to write transactions into.
async fn accounts_only(db: &DatabaseConnection, tmp: &Path) -> PathBuf {
    let first = tmp.join("accounts-only");
    copy_dir(&fixtures().join("valid"), &first);
    std::fs::remove_file(first.join("transactions.csv")).unwrap();
    let r = import(db, &first, false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    let dir = tmp.join("transactions");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const TX_HEADER: &str = "transaction_id,account_ref,date,kind,amount,channel,description\n";

/// `n` transactions in date order, spread over the fixture's nine accounts in turn (so that
/// every batch touches every account), with charges, payments and adjustments either way.
fn interleaved(n: usize) -> (String, Vec<i64>) {
    let mut text = TX_HEADER.to_owned();
    let mut totals = vec![0i64; 9];
    for i in 0..n {
        let account = i % 9;
        let day = NaiveDate::from_ymd_opt(2020, 1, 6).unwrap() + chrono::Days::new((i / 9) as u64);
        let (kind, pence, channel) = match i % 5 {
            0 | 3 => ("charge", 1000 + (i as i64 * 37) % 9000, ""),
            1 => ("payment", -(500 + (i as i64 * 53) % 12000), "web"),
            2 => ("adjustment", if i % 2 == 0 { 125 } else { -125 }, ""),
            _ => ("housing_benefit", -(2000 + (i as i64 % 700)), ""),
        };
        totals[account] += pence;
        let sign = if pence < 0 { "-" } else { "" };
        text.push_str(&format!(
            "BIG-{i:06},CR-ACC-{},{day},{kind},{sign}{}.{:02},{channel},\n",
            7001 + account,
            pence.abs() / 100,
            pence.abs() % 100
        ));
    }
    (text, totals)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn edit(dir: &Path, name: &str, f: impl FnOnce(String) -> String) {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, f(text)).unwrap();
}

#[tokio::test]
async fn the_valid_export_imports_everything() {
    let t = landlords().await;
    let db = &t.db;
    let r = import(db, &fixtures().join("valid"), false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    assert!(r.errors.is_empty(), "{r}");
    for (name, rows) in [
        ("properties.csv", 8),
        ("people.csv", 12),
        ("tenancies.csv", 8),
        ("tenancy_members.csv", 14),
        ("accounts.csv", 9),
        ("planned_work.csv", 5),
    ] {
        let s = file(&r, name);
        assert_eq!((s.rows, s.inserted, s.updated, s.unchanged, s.skipped), (rows, rows, 0, 0, 0), "{name}");
    }
    let tx = file(&r, "transactions.csv");
    assert_eq!((tx.rows, tx.posted, tx.already_posted, tx.skipped), (134, 134, 0, 0));
    ledger_is_consistent(db).await;
    // The file's own arithmetic: account 29001001 was charged ten weeks of £118.42 and paid
    // ten cash payments of £120 and one of £50.
    assert_eq!(
        scalar(db, "SELECT balance_pence AS n FROM rent_account WHERE account_number = '29001001'").await,
        10 * 11842 - 10 * 12000 - 5000
    );
    // Postcodes are normalised; grid references fill in coordinates and the other way round.
    assert_eq!(strings(db, "SELECT postcode AS s FROM property WHERE hms_ref = 'CR-PROP-1002'").await, ["WF12 9LU"]);
    assert_eq!(
        scalar(db, "SELECT COUNT(*) AS n FROM property WHERE latitude IS NULL OR easting IS NULL").await,
        1,
        "only the property without coordinates has none"
    );
    // Patches link homes to the landlord's housing officers.
    assert_eq!(
        scalar(db, "SELECT COUNT(*) AS n FROM property WHERE patch IS NOT NULL AND housing_officer_id IS NULL").await,
        0
    );
    // Payments without a channel in the file arrive as `hms`; benefits keep their own.
    assert_eq!(
        scalar(db, "SELECT COUNT(*) AS n FROM ledger_entry WHERE kind = 'payment' AND channel IS NULL").await,
        0
    );
    assert_eq!(scalar(db, "SELECT COUNT(*) AS n FROM ledger_entry WHERE source <> 'hms'").await, 0);
    assert_eq!(strings(db, "SELECT surname AS s FROM person WHERE hms_ref = 'CR-PER-5006'").await, ["Wiśniewska"]);
    assert_eq!(strings(db, "SELECT outcome AS s FROM import_run").await, ["committed"]);
    assert!(r.to_string().contains("committed: 190 rows"), "{r}");
}

#[tokio::test]
async fn running_the_same_files_again_changes_nothing() {
    let t = landlords().await;
    let db = &t.db;
    let dir = fixtures().join("valid");
    import(db, &dir, false).await;
    let before = snapshot(db).await;
    let r = import(db, &dir, false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    for s in &r.files {
        assert_eq!((s.inserted, s.updated, s.posted, s.skipped), (0, 0, 0, 0), "{}", s.file);
        assert_eq!(s.unchanged + s.already_posted, s.rows, "{}", s.file);
    }
    assert_eq!(snapshot(db).await, before);
    assert_eq!(r.content_hash.len(), 64);
    assert_eq!(scalar(db, "SELECT COUNT(DISTINCT content_hash) AS n FROM import_run").await, 1);
}

#[tokio::test]
async fn changed_rows_update_and_new_transactions_post_once() {
    let t = landlords().await;
    let db = &t.db;
    import(db, &fixtures().join("valid"), false).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("next");
    copy_dir(&fixtures().join("valid"), &dir);
    edit(&dir, "people.csv", |s| {
        s.replace("Gemma,Sykes,1988-11-03,gemma.sykes@example.org", "Gemma,Firth,1988-11-03,")
    });
    edit(&dir, "accounts.csv", |s| s.replace("29001002,CR-TEN-3002,rent,91.37", "29001002,CR-TEN-3002,rent,93.10"));
    edit(&dir, "transactions.csv", |s| {
        s + "CR-TX-000135,CR-ACC-7002,2025-11-10,charge,93.10,,Rent\nCR-TX-000136,CR-ACC-7002,2025-11-12,payment,-93.10,app,App payment\n"
    });
    let before = scalar(db, "SELECT balance_pence AS n FROM rent_account WHERE account_number = '29001002'").await;
    let r = import(db, &dir, false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    let people = file(&r, "people.csv");
    assert_eq!((people.inserted, people.updated, people.unchanged), (0, 1, 11));
    let accounts = file(&r, "accounts.csv");
    assert_eq!((accounts.updated, accounts.unchanged), (1, 8));
    let tx = file(&r, "transactions.csv");
    assert_eq!((tx.posted, tx.already_posted), (2, 134));
    assert_eq!(
        strings(db, "SELECT surname || '/' || COALESCE(email, 'none') AS s FROM person WHERE hms_ref = 'CR-PER-5004'")
            .await,
        ["Firth/none"],
        "an empty optional field clears the value"
    );
    assert_eq!(
        scalar(db, "SELECT weekly_charge_pence AS n FROM rent_account WHERE account_number = '29001002'").await,
        9310
    );
    assert_eq!(
        scalar(db, "SELECT balance_pence AS n FROM rent_account WHERE account_number = '29001002'").await,
        before
    );
    // Once more: nothing new.
    let r = import(db, &dir, false).await;
    assert_eq!(file(&r, "transactions.csv").posted, 0);
    assert_eq!(scalar(db, "SELECT COUNT(*) AS n FROM ledger_entry").await, 136);
    balances_are_sums(db).await;
}

#[tokio::test]
async fn transactions_only_exports_post_onto_accounts_already_imported() {
    let t = landlords().await;
    let db = &t.db;
    let tmp = tempfile::tempdir().unwrap();
    // First everything but the transactions, then the transactions on their own, twice.
    let first = tmp.path().join("first");
    copy_dir(&fixtures().join("valid"), &first);
    std::fs::remove_file(first.join("transactions.csv")).unwrap();
    let r = import(db, &first, false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    let second = tmp.path().join("second");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::copy(fixtures().join("valid/transactions.csv"), second.join("transactions.csv")).unwrap();
    std::fs::write(second.join("notes.txt"), "not an export file").unwrap();
    let r = import(db, &second, false).await;
    assert_eq!(file(&r, "transactions.csv").posted, 134);
    assert_eq!(r.ignored_files, ["notes.txt"]);
    let r = import(db, &second, false).await;
    assert_eq!(file(&r, "transactions.csv").already_posted, 134);
    assert_eq!(scalar(db, "SELECT COUNT(*) AS n FROM ledger_entry").await, 134);
    balances_are_sums(db).await;
}

#[tokio::test]
async fn every_bad_export_is_rejected_where_the_mistake_is_and_changes_nothing() {
    let t = landlords().await;
    let db = &t.db;
    let bad = fixtures().join("bad");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&bad).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 15, "{} cases", cases.len());
    let before = snapshot(db).await;
    for (i, case) in cases.iter().enumerate() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        let expected = expected.trim();
        let r = import(db, case, false).await;
        assert_eq!(r.outcome, Outcome::Rejected, "{name}: {r}");
        let lines: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("{expected}: "))),
            "{name}: expected an error at {expected}, got:\n{}",
            lines.join("\n")
        );
        assert!(r.to_string().contains("REJECTED"), "{name}");
        assert_eq!(snapshot(db).await, before, "{name} changed the database");
        assert_eq!(
            scalar(db, "SELECT COUNT(*) AS n FROM import_run WHERE outcome = 'rejected'").await,
            i as i64 + 1,
            "{name}: the rejected run is recorded"
        );
    }
}

#[tokio::test]
async fn skip_invalid_imports_the_valid_rows_and_skips_what_depends_on_the_rest() {
    let t = landlords().await;
    let db = &t.db;
    // Tenancy CR-TEN-3002 names a property that does not exist: its members, its account
    // and that account's transactions cannot go in either.
    let case = fixtures().join("bad/unknown_property");
    let r = import(db, &case, true).await;
    assert_eq!(r.outcome, Outcome::CommittedWithSkips, "{r}");
    let lines: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("tenancies.csv:3:2: property_ref: unknown property CR-PROP-9999")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("tenancy_members.csv:5:1: tenancy_ref: refers to tenancy CR-TEN-3002, which is not imported because of errors (tenancies.csv:3)")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("accounts.csv:3:3: tenancy_ref: refers to tenancy CR-TEN-3002")),
        "{lines:?}"
    );
    let tx_2 = std::fs::read_to_string(case.join("transactions.csv"))
        .unwrap()
        .lines()
        .filter(|l| l.contains(",CR-ACC-7002,"))
        .count() as u64;
    assert!(tx_2 >= 10);
    assert_eq!(lines.iter().filter(|l| l.contains("refers to account CR-ACC-7002")).count() as u64, tx_2);
    assert_eq!(file(&r, "tenancies.csv").skipped, 1);
    assert_eq!(file(&r, "accounts.csv").skipped, 1);
    assert_eq!(file(&r, "transactions.csv").posted, 134 - tx_2);
    assert_eq!(file(&r, "transactions.csv").skipped, tx_2);
    assert_eq!(file(&r, "properties.csv").inserted, 8);
    assert_eq!(scalar(db, "SELECT COUNT(*) AS n FROM tenancy").await, 7);
    assert_eq!(strings(db, "SELECT outcome AS s FROM import_run").await, ["committed_with_skips"]);
    balances_are_sums(db).await;
    // The corrected export then brings in exactly what was missing.
    let r = import(db, &fixtures().join("valid"), false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    assert_eq!(file(&r, "tenancies.csv").inserted, 1);
    assert_eq!(file(&r, "tenancy_members.csv").inserted, 1);
    assert_eq!(file(&r, "accounts.csv").inserted, 1);
    assert_eq!(file(&r, "transactions.csv").posted, tx_2);
    assert_eq!(file(&r, "transactions.csv").already_posted, 134 - tx_2);
    balances_are_sums(db).await;
}

#[tokio::test]
async fn a_posted_transaction_cannot_change() {
    let t = landlords().await;
    let db = &t.db;
    import(db, &fixtures().join("valid"), false).await;
    let before = snapshot(db).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("changed");
    copy_dir(&fixtures().join("valid"), &dir);
    edit(&dir, "transactions.csv", |s| {
        s.replace(
            "CR-TX-000011,CR-ACC-7008,2025-09-02,payment,-42.50",
            "CR-TX-000011,CR-ACC-7008,2025-09-02,payment,-24.50",
        )
    });
    let r = import(db, &dir, false).await;
    assert_eq!(r.outcome, Outcome::Rejected, "{r}");
    assert!(
        r.errors[0].to_string().starts_with("transactions.csv:12:1: transaction_id: CR-TX-000011 was imported before"),
        "{r}"
    );
    assert_eq!(snapshot(db).await, before);
}

#[tokio::test]
async fn a_tenancy_keeps_one_lead_tenant() {
    let t = landlords().await;
    let db = &t.db;
    import(db, &fixtures().join("valid"), false).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("members");
    std::fs::create_dir_all(&dir).unwrap();
    // Tariq becomes the lead but Nasreen is still the lead in the database: refused.
    std::fs::write(dir.join("tenancy_members.csv"), "tenancy_ref,person_ref,role\nCR-TEN-3001,CR-PER-5002,lead\n")
        .unwrap();
    let r = import(db, &dir, false).await;
    assert_eq!(r.outcome, Outcome::Rejected, "{r}");
    assert!(
        r.errors[0]
            .to_string()
            .starts_with("tenancy_members.csv:2:3: role: tenancy CR-TEN-3001 already has lead tenant CR-PER-5001"),
        "{r}"
    );
    // Swapping the roles in one export is fine.
    std::fs::write(
        dir.join("tenancy_members.csv"),
        "tenancy_ref,person_ref,role\nCR-TEN-3001,CR-PER-5002,lead\nCR-TEN-3001,CR-PER-5001,joint\n",
    )
    .unwrap();
    let r = import(db, &dir, false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    assert_eq!(file(&r, "tenancy_members.csv").updated, 2);
    assert_eq!(
        strings(
            db,
            "SELECT p.hms_ref || ' ' || m.role AS s FROM tenancy_member m JOIN person p ON p.id = m.person_id \
             JOIN tenancy t ON t.id = m.tenancy_id WHERE t.hms_ref = 'CR-TEN-3001' ORDER BY p.hms_ref"
        )
        .await,
        ["CR-PER-5001 joint", "CR-PER-5002 lead", "CR-PER-5003 household"]
    );
}

#[tokio::test]
async fn an_unknown_landlord_is_not_created() {
    let t = TestDb::new().await;
    let r = import(&t.db, &fixtures().join("valid"), false).await;
    assert_eq!(r.outcome, Outcome::Rejected);
    assert!(
        r.errors[0].to_string().starts_with("properties.csv:2:2: organisation: unknown organisation calder-riverside"),
        "{r}"
    );
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) AS n FROM organisation").await, 0);
}

#[tokio::test]
async fn the_drop_folder_job_imports_ready_folders_once() {
    use doorstep::jobs::import_poll::{READY, poll_once};
    let t = landlords().await;
    let db = &t.db;
    let tmp = tempfile::tempdir().unwrap();
    let drop = tmp.path();
    copy_dir(&fixtures().join("valid"), &drop.join("2025-11-24"));
    std::fs::write(drop.join("2025-11-24").join(READY), "").unwrap();
    copy_dir(&fixtures().join("valid"), &drop.join("still-copying"));
    copy_dir(&fixtures().join("bad/wrong_sign"), &drop.join("broken"));
    std::fs::write(drop.join("broken").join(READY), "").unwrap();

    let done = poll_once(db, drop).await.expect("poll");
    let outcomes: Vec<(String, String)> = done.iter().map(|p| (p.folder.clone(), p.outcome.clone())).collect();
    assert_eq!(
        outcomes,
        [("2025-11-24".to_owned(), "committed".to_owned()), ("broken".to_owned(), "rejected".to_owned())]
    );
    assert!(drop.join("done/2025-11-24/import-report.txt").is_file());
    assert!(drop.join("done/2025-11-24/import-report.json").is_file());
    let failed_report = std::fs::read_to_string(drop.join("failed/broken/import-report.txt")).unwrap();
    assert!(failed_report.contains("transactions.csv:12:5: amount:"), "{failed_report}");
    assert!(drop.join("still-copying").is_dir(), "a folder without READY is left alone");
    assert_eq!(scalar(db, "SELECT COUNT(*) AS n FROM ledger_entry").await, 134);

    // The same files dropped again are recognised and not imported twice.
    std::fs::write(drop.join("still-copying").join(READY), "").unwrap();
    let done = poll_once(db, drop).await.expect("poll");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].outcome, "already_imported");
    assert!(drop.join("done/still-copying").is_dir());
    assert_eq!(scalar(db, "SELECT COUNT(*) AS n FROM import_run WHERE outcome = 'committed'").await, 1);
    assert!(poll_once(db, drop).await.expect("poll").is_empty());
}

#[tokio::test]
async fn the_demo_exported_and_imported_matches_the_demo_seeded() {
    // Two routes into the ledger, the bulk loader and `post_batch`, must agree line by line.
    let opts = SeedOptions { scale: 40, years: 2, seed: 11, today: Some(today()) };
    let seeded = TestDb::new().await;
    demo::seed(&seeded.db, &opts, &NoProgress).await.expect("seed");
    let tmp = tempfile::tempdir().unwrap();
    let report = demo::export::export_hms(tmp.path(), &opts, &NoProgress).expect("export");
    assert!(report.rows.iter().any(|(f, n)| *f == "transactions.csv" && *n > 1000), "{report:?}");
    let imported = TestDb::new().await;
    demo::seed(&imported.db, &SeedOptions { scale: 0, ..opts.clone() }, &NoProgress).await.expect("the landlords");
    let r = import(&imported.db, tmp.path(), false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    let accounts = "SELECT account_number || ' ' || kind || ' ' || CAST(balance_pence AS TEXT) || ' ' || \
                    CAST(version AS TEXT) || ' ' || COALESCE(CAST(last_entry_date AS TEXT), '-') || ' ' || \
                    COALESCE(CAST(closed_on AS TEXT), '-') AS s FROM rent_account ORDER BY account_number";
    assert_eq!(strings(&imported.db, accounts).await, strings(&seeded.db, accounts).await);
    let lines = "SELECT a.account_number || ' ' || CAST(e.effective_date AS TEXT) || ' ' || e.kind || ' ' || \
                 CAST(e.amount_pence AS TEXT) || ' ' || CAST(e.balance_after_pence AS TEXT) || ' ' || \
                 COALESCE(e.channel, '-') || ' ' || e.description AS s \
                 FROM ledger_entry e JOIN rent_account a ON a.id = e.account_id ORDER BY a.account_number, e.id";
    assert_eq!(strings(&imported.db, lines).await, strings(&seeded.db, lines).await);
    let people = "SELECT hms_ref || ' ' || forename || ' ' || surname || ' ' || CAST(date_of_birth AS TEXT) AS s \
                  FROM person ORDER BY hms_ref";
    assert_eq!(strings(&imported.db, people).await, strings(&seeded.db, people).await);
    let homes = "SELECT p.hms_ref || ' ' || p.address_line1 || ' ' || p.postcode || ' ' || CAST(p.easting AS TEXT) || \
                 ' ' || COALESCE(p.patch, '-') || ' ' || COALESCE(o.name, '-') AS s FROM property p \
                 LEFT JOIN housing_officer o ON o.id = p.housing_officer_id ORDER BY p.hms_ref";
    assert_eq!(strings(&imported.db, homes).await, strings(&seeded.db, homes).await);
    ledger_is_consistent(&imported.db).await;
}

#[tokio::test]
async fn a_long_file_posts_in_file_order_across_batches_and_once() {
    let t = landlords().await;
    let db = &t.db;
    let tmp = tempfile::tempdir().unwrap();
    let dir = accounts_only(db, tmp.path()).await;
    // More rows than a batch of the reading and than a multi-row insert, on every account.
    let (text, totals) = interleaved(4500);
    std::fs::write(dir.join("transactions.csv"), &text).unwrap();
    let r = import(db, &dir, false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    let tx = file(&r, "transactions.csv");
    assert_eq!((tx.rows, tx.posted, tx.already_posted, tx.skipped), (4500, 4500, 0, 0));
    ledger_is_consistent(db).await;
    for (i, total) in totals.iter().enumerate() {
        let sql = format!("SELECT balance_pence AS n FROM rent_account WHERE hms_ref = 'CR-ACC-{}'", 7001 + i);
        assert_eq!(scalar(db, &sql).await, *total);
        let sql = format!("SELECT version AS n FROM rent_account WHERE hms_ref = 'CR-ACC-{}'", 7001 + i);
        assert_eq!(scalar(db, &sql).await, 500);
    }
    // Payments keep their channel; benefits get theirs.
    assert_eq!(
        scalar(db, "SELECT COUNT(*) AS n FROM ledger_entry WHERE kind = 'payment' AND channel <> 'web'").await,
        0
    );
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM ledger_entry WHERE kind = 'housing_benefit' AND channel <> 'housing_benefit'"
        )
        .await,
        0
    );

    // The same file again changes nothing.
    let before = snapshot(db).await;
    let r = import(db, &dir, false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    let tx = file(&r, "transactions.csv");
    assert_eq!((tx.posted, tx.already_posted, tx.skipped), (0, 4500, 0));
    assert_eq!(snapshot(db).await, before);

    // More rows after those already posted carry on from the cached balances.
    let (more, more_totals) = interleaved(4600);
    std::fs::write(dir.join("transactions.csv"), &more).unwrap();
    let r = import(db, &dir, false).await;
    let tx = file(&r, "transactions.csv");
    assert_eq!((tx.posted, tx.already_posted), (100, 4500), "{r}");
    ledger_is_consistent(db).await;
    for (i, total) in more_totals.iter().enumerate() {
        let sql = format!("SELECT balance_pence AS n FROM rent_account WHERE hms_ref = 'CR-ACC-{}'", 7001 + i);
        assert_eq!(scalar(db, &sql).await, *total);
    }
}

#[tokio::test]
async fn a_transaction_id_repeated_far_apart_is_an_error_on_the_later_line() {
    let t = landlords().await;
    let db = &t.db;
    let tmp = tempfile::tempdir().unwrap();
    let dir = accounts_only(db, tmp.path()).await;
    let (text, _) = interleaved(4500);
    // Line 4400 takes the id of line 10, in another batch of the reading.
    let text = text.replace("BIG-004398,", "BIG-000008,");
    std::fs::write(dir.join("transactions.csv"), &text).unwrap();
    let before = snapshot(db).await;
    let r = import(db, &dir, false).await;
    assert_eq!(r.outcome, Outcome::Rejected, "{r}");
    let lines: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    assert_eq!(lines, ["transactions.csv:4400:1: transaction_id: BIG-000008 is also on line 10"]);
    assert_eq!(snapshot(db).await, before, "a rejected run leaves nothing, not even the rows before the repeat");
    assert_eq!(file(&r, "transactions.csv").skipped, 4500);

    // With --skip-invalid the first is posted and the repeat skipped.
    let r = import(db, &dir, true).await;
    assert_eq!(r.outcome, Outcome::CommittedWithSkips, "{r}");
    let tx = file(&r, "transactions.csv");
    assert_eq!((tx.posted, tx.already_posted, tx.skipped), (4499, 0, 1));
    ledger_is_consistent(db).await;

    // Once posted, a repeat within the file is still an error (not "already posted").
    let r = import(db, &dir, false).await;
    assert_eq!(r.outcome, Outcome::Rejected, "{r}");
    assert_eq!(r.errors.len(), 1, "{r}");
    assert!(
        r.errors[0].to_string().starts_with("transactions.csv:4400:1: transaction_id: BIG-000008 is also on line 10")
    );
}

#[tokio::test]
async fn postings_made_meanwhile_are_carried_on_from() {
    let t = landlords().await;
    let db = &t.db;
    import(db, &fixtures().join("valid"), false).await;
    // A payment arrives through the provider between two imports.
    let day = NaiveDate::from_ymd_opt(2025, 11, 14).unwrap();
    let paid = NewEntry {
        kind: EntryKind::Payment,
        amount: Money::from_pence(-2500),
        effective_date: day,
        description: "Card payment".into(),
        source: "provider:sandbox".into(),
        source_ref: "pay_meanwhile_1".into(),
        channel: Some(Channel::Web),
    };
    ledger::post_batch(
        db,
        scalar(db, "SELECT id AS n FROM rent_account WHERE hms_ref = 'CR-ACC-7001'").await,
        vec![paid],
    )
    .await
    .expect("post");
    let balance = scalar(db, "SELECT balance_pence AS n FROM rent_account WHERE hms_ref = 'CR-ACC-7001'").await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("next");
    copy_dir(&fixtures().join("valid"), &dir);
    edit(&dir, "transactions.csv", |s| {
        s + "CR-TX-000135,CR-ACC-7001,2025-11-17,charge,118.42,,Rent\nCR-TX-000136,CR-ACC-7001,2025-11-10,adjustment,-1.00,,Goodwill\n"
    });
    let r = import(db, &dir, false).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    assert_eq!((file(&r, "transactions.csv").posted, file(&r, "transactions.csv").already_posted), (2, 134));
    assert_eq!(
        strings(
            db,
            "SELECT e.source_ref || ' ' || CAST(e.balance_after_pence AS TEXT) AS s FROM ledger_entry e \
             JOIN rent_account a ON a.id = e.account_id WHERE a.hms_ref = 'CR-ACC-7001' ORDER BY e.id DESC LIMIT 3"
        )
        .await,
        [
            format!("CR-TX-000136 {}", balance + 11842 - 100),
            format!("CR-TX-000135 {}", balance + 11842),
            format!("pay_meanwhile_1 {balance}"),
        ]
    );
    assert_eq!(
        strings(
            db,
            "SELECT CAST(version AS TEXT) || ' ' || CAST(last_entry_date AS TEXT) AS s FROM rent_account \
             WHERE hms_ref = 'CR-ACC-7001'"
        )
        .await,
        ["24 2025-11-17"],
        "21 from the first import, the payment, and 2 more; the latest date, not the last line's"
    );
    ledger_is_consistent(db).await;
}

#[tokio::test]
async fn skip_invalid_skips_a_changed_transaction_and_posts_the_rest() {
    let t = landlords().await;
    let db = &t.db;
    import(db, &fixtures().join("valid"), false).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("changed");
    copy_dir(&fixtures().join("valid"), &dir);
    edit(&dir, "transactions.csv", |s| {
        s.replace(
            "CR-TX-000011,CR-ACC-7008,2025-09-02,payment,-42.50",
            "CR-TX-000011,CR-ACC-7008,2025-09-02,payment,-24.50",
        ) + "CR-TX-000135,CR-ACC-7008,2025-11-17,charge,9.80,,Garage\nCR-TX-000136,CR-ACC-9999,2025-11-17,charge,9.80,,\n"
    });
    let r = import(db, &dir, true).await;
    assert_eq!(r.outcome, Outcome::CommittedWithSkips, "{r}");
    let lines: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("transactions.csv:12:1: transaction_id: CR-TX-000011 was imported before"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("transactions.csv:137:2: account_ref: unknown account CR-ACC-9999: it is neither in accounts.csv nor in the database"),
        "{lines:?}"
    );
    let tx = file(&r, "transactions.csv");
    assert_eq!((tx.rows, tx.posted, tx.already_posted, tx.skipped), (136, 1, 133, 2));
    ledger_is_consistent(db).await;
}

#[tokio::test]
async fn files_in_memory_import_as_a_folder_does() {
    let t = landlords().await;
    let db = &t.db;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(fixtures().join("valid")).unwrap() {
        let entry = entry.unwrap();
        files.push((entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path()).unwrap()));
    }
    let export = hms::read_files("memory", files, today()).expect("read");
    let from_dir = hms::read_dir(&fixtures().join("valid"), today()).expect("read");
    assert_eq!(export.content_hash, from_dir.content_hash);
    let r = hms::import(db, &export, ImportOptions::default(), &hms::NoProgress).await.expect("import");
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    assert_eq!(file(&r, "transactions.csv").posted, 134);
    ledger_is_consistent(db).await;
    // The same folder afterwards is recognised by its hash and posts nothing.
    let r = hms::import(db, &from_dir, ImportOptions::default(), &hms::NoProgress).await.expect("import");
    assert_eq!(file(&r, "transactions.csv").already_posted, 134);
}

#[tokio::test]
async fn a_transactions_file_that_changes_after_it_was_read_is_not_imported() {
    let t = landlords().await;
    let db = &t.db;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("moving");
    copy_dir(&fixtures().join("valid"), &dir);
    let export = hms::read_dir(&dir, today()).expect("read");
    // Same length, one amount changed: only the hash tells.
    edit(&dir, "transactions.csv", |s| {
        s.replace(
            "CR-TX-000011,CR-ACC-7008,2025-09-02,payment,-42.50",
            "CR-TX-000011,CR-ACC-7008,2025-09-02,payment,-42.51",
        )
    });
    let before = snapshot(db).await;
    let err = hms::import(db, &export, ImportOptions::default(), &hms::NoProgress).await.expect_err("changed");
    assert!(matches!(err, ImportError::Read(ReadError::Changed(_))), "{err}");
    assert!(err.to_string().contains("changed while it was being imported"), "{err}");
    assert_eq!(snapshot(db).await, before);
    assert_eq!(scalar(db, "SELECT COUNT(*) AS n FROM import_run").await, 0);
}

/// Every ledger line, in a form that does not depend on ids.
async fn ledger_lines(db: &DatabaseConnection) -> Vec<String> {
    strings(
        db,
        "SELECT e.source_ref || ' ' || a.hms_ref || ' ' || e.kind || ' ' || CAST(e.amount_pence AS TEXT) || ' ' || \
         CAST(e.effective_date AS TEXT) || ' ' || COALESCE(e.channel, '-') || ' ' || e.description || ' ' || \
         CAST(e.balance_after_pence AS TEXT) AS s \
         FROM ledger_entry e JOIN rent_account a ON a.id = e.account_id ORDER BY e.source_ref",
    )
    .await
}

#[tokio::test]
async fn a_load_with_the_ledger_indexes_set_aside_posts_the_same_and_builds_them_again() {
    let migrated = ledger::indexes::secondary(&TestDb::new().await.db).await.expect("indexes");
    let names: Vec<&str> = migrated.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["ix_ledger_entry_account_date", "ix_ledger_entry_date_channel"]);

    let (deferred, kept) = (landlords().await, landlords().await);
    // The seed of the landlords set the indexes aside and built them again too.
    assert_eq!(ledger::indexes::secondary(&deferred.db).await.unwrap(), migrated);
    let dir = fixtures().join("valid");
    let always = ImportOptions { indexes: IndexMode::Always, ..Default::default() };
    let never = ImportOptions { indexes: IndexMode::Never, ..Default::default() };
    let r = import_with(&deferred.db, &dir, always).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    assert_eq!(file(&r, "transactions.csv").posted, 134);
    let r = import_with(&kept.db, &dir, never).await;
    assert_eq!(r.outcome, Outcome::Committed, "{r}");
    assert_eq!(ledger::indexes::secondary(&deferred.db).await.unwrap(), migrated, "built again as migrated");
    assert_eq!(ledger_lines(&deferred.db).await, ledger_lines(&kept.db).await);
    assert_eq!(snapshot(&deferred.db).await, snapshot(&kept.db).await);
    ledger_is_consistent(&deferred.db).await;

    // A run rejected while posting (an unknown account on line 10 of transactions.csv)
    // rolls back, and the indexes it set aside are there as before.
    let t = landlords().await;
    let before = snapshot(&t.db).await;
    let r = import_with(&t.db, &fixtures().join("bad/unknown_account"), always).await;
    assert_eq!(r.outcome, Outcome::Rejected, "{r}");
    assert_eq!(snapshot(&t.db).await, before);
    assert_eq!(ledger::indexes::secondary(&t.db).await.unwrap(), migrated);
}
