use doorstep::domain::ledger::{self, Channel, EntryKind, LedgerError, NewEntry, PostOutcome, charge_run, check};
use doorstep::entity::{ledger_entry, rent_account, rent_free_week};
use doorstep_shared::Money;
use proptest::prelude::*;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use crate::fixtures::{account, date, org};
use crate::support::TestDb;

fn payment(pence: i64, key: &str) -> NewEntry {
    NewEntry {
        kind: EntryKind::Payment,
        amount: Money::from_pence(-pence),
        effective_date: date("2026-11-16"),
        description: "Card payment".into(),
        source: "provider:test".into(),
        source_ref: key.into(),
        channel: Some(Channel::Web),
    }
}

async fn balance(db: &DatabaseConnection, id: i64) -> (i64, i64) {
    let a = rent_account::Entity::find_by_id(id).one(db).await.unwrap().unwrap();
    (a.balance_pence, a.version)
}

async fn post_one(db: &DatabaseConnection, account_id: i64, entry: NewEntry) -> Result<PostOutcome, LedgerError> {
    let txn = db.begin().await.unwrap();
    let out = ledger::post(&txn, account_id, entry).await;
    if out.is_ok() {
        txn.commit().await.unwrap();
    }
    out
}

#[tokio::test]
async fn the_same_key_posts_once_and_a_reused_key_is_refused() {
    let t = TestDb::new().await;
    let org = org(&t.db, "o").await;
    let a = account(&t.db, org, "rent", 9000, "2020-01-06").await;

    let first = post_one(&t.db, a.id, payment(5000, "pay-1")).await.unwrap();
    assert!(matches!(first, PostOutcome::Posted(_)));
    assert_eq!(first.entry().balance_after_pence, -5000);
    let again = post_one(&t.db, a.id, payment(5000, "pay-1")).await.unwrap();
    assert!(matches!(again, PostOutcome::AlreadyPosted(ref e) if e.id == first.entry().id));
    assert_eq!(balance(&t.db, a.id).await, (-5000, 1));

    let reused = post_one(&t.db, a.id, payment(7000, "pay-1")).await;
    assert!(matches!(reused, Err(LedgerError::KeyReused { .. })), "{reused:?}");
    assert_eq!(balance(&t.db, a.id).await, (-5000, 1), "a refused posting changes nothing");
}

#[tokio::test]
async fn signs_must_match_the_kind() {
    let t = TestDb::new().await;
    let org = org(&t.db, "o").await;
    let a = account(&t.db, org, "rent", 9000, "2020-01-06").await;
    let mut charge_negative = payment(100, "x");
    charge_negative.kind = EntryKind::Charge;
    assert!(matches!(post_one(&t.db, a.id, charge_negative).await, Err(LedgerError::WrongSign { .. })));
    let mut payment_positive = payment(-100, "y");
    payment_positive.kind = EntryKind::UniversalCredit;
    assert!(matches!(post_one(&t.db, a.id, payment_positive).await, Err(LedgerError::WrongSign { .. })));
    assert_eq!(balance(&t.db, a.id).await, (0, 0));
    assert!(matches!(post_one(&t.db, 987_654, payment(1, "z")).await, Err(LedgerError::AccountNotFound(987_654))));
}

#[tokio::test]
async fn a_reversal_undoes_an_entry_once() {
    let t = TestDb::new().await;
    let org = org(&t.db, "o").await;
    let a = account(&t.db, org, "rent", 9000, "2020-01-06").await;
    let posted = post_one(&t.db, a.id, payment(4321, "p")).await.unwrap();
    let id = posted.entry().id;
    for _ in 0..2 {
        let txn = t.db.begin().await.unwrap();
        ledger::reverse(&txn, id, "card payment charged back", date("2026-11-18")).await.unwrap();
        txn.commit().await.unwrap();
    }
    assert_eq!(balance(&t.db, a.id).await.0, 0);
    let entries =
        ledger_entry::Entity::find().filter(ledger_entry::Column::AccountId.eq(a.id)).all(&t.db).await.unwrap();
    assert_eq!(entries.len(), 2, "the original and one reversal; nothing deleted");
    let reversal = entries.iter().find(|e| e.kind == "reversal").unwrap();
    let txn = t.db.begin().await.unwrap();
    assert!(matches!(
        ledger::reverse(&txn, reversal.id, "oops", date("2026-11-18")).await,
        Err(LedgerError::ReversingAReversal(_))
    ));
}

#[tokio::test]
async fn concurrent_postings_to_one_account_lose_nothing() {
    let t = TestDb::new().await;
    let org = org(&t.db, "o").await;
    let a = account(&t.db, org, "rent", 9000, "2020-01-06").await;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                // Each key is posted twice, by two workers, to race idempotency as well.
                let key = format!("k{}-{i}", worker / 2);
                post_one(&db, a.id, payment(100 + i, &key)).await.expect("posting");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let expected: i64 = -(4 * (0..10).map(|i| 100 + i).sum::<i64>());
    assert_eq!(balance(&t.db, a.id).await, (expected, 40));
    let report = check::check(&t.db).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    // Running balances form an unbroken chain in posting order.
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::AccountId.eq(a.id))
        .order_by_asc(ledger_entry::Column::Id)
        .all(&t.db)
        .await
        .unwrap();
    let mut running = 0;
    for e in entries {
        running += e.amount_pence;
        assert_eq!(e.balance_after_pence, running);
    }
}

#[tokio::test]
async fn charge_run_posts_each_due_account_once_and_honours_rent_free_weeks() {
    let t = TestDb::new().await;
    let o1 = org(&t.db, "one").await;
    let o2 = org(&t.db, "two").await;
    let rent = account(&t.db, o1, "rent", 9550, "2020-01-06").await;
    let garage = account(&t.db, o1, "garage", 1000, "2020-01-06").await;
    let not_yet = account(&t.db, o1, "rent", 8000, "2026-12-01").await;
    let other = account(&t.db, o2, "rent", 7000, "2020-01-06").await;
    let week = date("2026-11-16");
    rent_free_week::ActiveModel { organisation_id: Set(o2), week_start: Set(week), ..Default::default() }
        .insert(&t.db)
        .await
        .unwrap();

    assert_eq!(charge_run::count_due(&t.db, week).await.unwrap(), 2);
    let report = charge_run::run(&t.db, week, |_| {}).await.unwrap();
    assert_eq!((report.posted, report.total_pence, report.rent_free), (2, 10550, 1));
    assert_eq!(balance(&t.db, rent.id).await.0, 9550);
    assert_eq!(balance(&t.db, garage.id).await.0, 1000);
    assert_eq!(balance(&t.db, not_yet.id).await.0, 0);
    assert_eq!(balance(&t.db, other.id).await.0, 0);

    let again = charge_run::run(&t.db, week, |_| {}).await.unwrap();
    assert_eq!((again.posted, again.already_charged), (0, 2));
    let entry = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::AccountId.eq(rent.id))
        .one(&t.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.source, "charge_run");
    assert_eq!(entry.source_ref, format!("{}:2026-11-16", rent.account_number));
    assert!(entry.description.contains("16 November 2026"), "{}", entry.description);
    assert_eq!(
        rent_account::Entity::find_by_id(rent.id).one(&t.db).await.unwrap().unwrap().last_entry_date,
        Some(week)
    );
    assert!(check::check(&t.db).await.unwrap().is_clean());

    let err = charge_run::run(&t.db, date("2026-11-18"), |_| {}).await.unwrap_err();
    assert!(err.to_string().starts_with("week: 2026-11-18 is a Wed"), "{err}");
}

#[tokio::test]
async fn a_week_charged_by_another_source_is_not_charged_again() {
    let t = TestDb::new().await;
    let o = org(&t.db, "o").await;
    let a = account(&t.db, o, "rent", 9000, "2020-01-06").await;
    let hms_charge = NewEntry {
        kind: EntryKind::Charge,
        amount: Money::from_pence(9000),
        effective_date: date("2026-11-17"),
        description: "Rent".into(),
        source: "hms".into(),
        source_ref: "T-1".into(),
        channel: None,
    };
    post_one(&t.db, a.id, hms_charge).await.unwrap();
    let report = charge_run::run(&t.db, date("2026-11-16"), |_| {}).await.unwrap();
    assert_eq!(report.posted, 0);
    assert_eq!(balance(&t.db, a.id).await.0, 9000);
}

#[tokio::test]
async fn ledger_check_reports_drift() {
    let t = TestDb::new().await;
    let o = org(&t.db, "o").await;
    let a = account(&t.db, o, "rent", 9000, "2020-01-06").await;
    post_one(&t.db, a.id, payment(500, "p")).await.unwrap();
    assert!(check::check(&t.db).await.unwrap().is_clean());
    // Simulate corruption outside the ledger module.
    let mut active: rent_account::ActiveModel =
        rent_account::Entity::find_by_id(a.id).one(&t.db).await.unwrap().unwrap().into();
    active.balance_pence = Set(123);
    active.update(&t.db).await.unwrap();
    let report = check::check(&t.db).await.unwrap();
    assert_eq!(report.drift.len(), 1);
    assert_eq!((report.drift[0].cached_pence, report.drift[0].sum_pence), (123, -500));
    // The latest line's balance no longer matches the account's either.
    assert_eq!(report.running_balance_mismatches, 1);
}

fn kind_strategy() -> impl Strategy<Value = (EntryKind, i64)> {
    prop_oneof![
        (1i64..50_000).prop_map(|p| (EntryKind::Charge, p)),
        (1i64..50_000).prop_map(|p| (EntryKind::Payment, -p)),
        (1i64..50_000).prop_map(|p| (EntryKind::HousingBenefit, -p)),
        (1i64..50_000).prop_map(|p| (EntryKind::UniversalCredit, -p)),
        (1i64..50_000).prop_map(|p| (EntryKind::Refund, p)),
        (-50_000i64..50_000).prop_filter("non-zero", |p| *p != 0).prop_map(|p| (EntryKind::Adjustment, p)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Any sequence of postings, with repeats of earlier keys and reversals mixed in, leaves
    /// the cached balance equal to the sum of entries and an unbroken running balance.
    #[test]
    fn postings_and_reversals_keep_the_ledger_consistent(
        ops in proptest::collection::vec((kind_strategy(), 0usize..30, any::<bool>()), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let t = TestDb::new().await;
            let o = org(&t.db, "o").await;
            let a = account(&t.db, o, "rent", 9000, "2020-01-06").await;
            let mut expected = 0i64;
            let mut posted: Vec<(String, i64, i64)> = Vec::new();
            for ((kind, pence), key_pick, reverse) in ops {
                if reverse && !posted.is_empty() {
                    let (_, id, amount) = posted[key_pick % posted.len()].clone();
                    let txn = t.db.begin().await.unwrap();
                    let out = ledger::reverse(&txn, id, "test", date("2026-01-01")).await.unwrap();
                    txn.commit().await.unwrap();
                    if matches!(out, PostOutcome::Posted(_)) { expected -= amount; }
                    continue;
                }
                // Reuse an earlier key (same details) now and then: must be a no-op.
                let (key, kind, pence) = if key_pick < posted.len() && key_pick % 3 == 0 {
                    let (k, _, amount) = posted[key_pick].clone();
                    let kind = posted_kind(&t.db, &k).await;
                    (k, kind, amount)
                } else {
                    (format!("k{}", posted.len()), kind, pence)
                };
                let entry = NewEntry { kind, amount: Money::from_pence(pence), effective_date: date("2026-01-01"),
                    description: "x".into(), source: "prop".into(), source_ref: key.clone(), channel: None };
                match post_one(&t.db, a.id, entry).await.unwrap() {
                    PostOutcome::Posted(e) => { expected += pence; posted.push((key, e.id, pence)); }
                    PostOutcome::AlreadyPosted(_) => {}
                }
            }
            assert_eq!(balance(&t.db, a.id).await.0, expected);
            let report = check::check(&t.db).await.unwrap();
            assert!(report.is_clean(), "{report:?}");
        });
    }
}

async fn posted_kind(db: &DatabaseConnection, key: &str) -> EntryKind {
    let e = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::Source.eq("prop"))
        .filter(ledger_entry::Column::SourceRef.eq(key))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    EntryKind::parse(&e.kind).unwrap()
}

mod views {
    use doorstep::domain::ledger::views::{self, ArrearsQuery, ArrearsSort, HistoryQuery};
    use doorstep_shared::dto::BalanceState;

    use super::*;

    async fn post_dated(db: &DatabaseConnection, account_id: i64, kind: EntryKind, pence: i64, day: &str, key: &str) {
        let e = NewEntry {
            kind,
            amount: Money::from_pence(pence),
            effective_date: date(day),
            description: format!("{kind} {day}"),
            source: "test".into(),
            source_ref: key.into(),
            channel: None,
        };
        post_one(db, account_id, e).await.unwrap();
    }

    #[tokio::test]
    async fn summary_words_the_balance_and_shows_the_three_newest_lines() {
        let t = TestDb::new().await;
        let o = org(&t.db, "o").await;
        let a = account(&t.db, o, "garage", 1000, "2020-01-06").await;
        for (i, day) in ["2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"].iter().enumerate() {
            post_dated(&t.db, a.id, EntryKind::Charge, 1000, day, &format!("c{i}")).await;
        }
        post_dated(&t.db, a.id, EntryKind::Payment, -1550, "2026-10-20", "p").await;
        let a = views::account(&t.db, a.id).await.unwrap().unwrap();
        let s = views::summary(&t.db, a).await.unwrap();
        assert_eq!(s.balance_pence, 2450);
        assert_eq!(s.balance_state, BalanceState::InArrears);
        assert_eq!(s.balance_text, "£24.50 in arrears");
        assert_eq!(s.kind_label, "Garage");
        assert_eq!(s.last_transaction_date, Some(date("2026-10-26")));
        let dates: Vec<_> = s.recent.iter().map(|t| t.date.to_string()).collect();
        assert_eq!(dates, ["2026-10-26", "2026-10-20", "2026-10-19"]);
    }

    #[tokio::test]
    async fn history_pages_newest_first_within_dates_and_statements_open_with_the_prior_balance() {
        let t = TestDb::new().await;
        let o = org(&t.db, "o").await;
        let a = account(&t.db, o, "rent", 9000, "2020-01-06").await;
        for week in 0..10 {
            let day = date("2026-01-05") + chrono::Duration::weeks(week);
            post_dated(&t.db, a.id, EntryKind::Charge, 9000, &day.to_string(), &format!("c{week}")).await;
            post_dated(&t.db, a.id, EntryKind::HousingBenefit, -8000, &day.to_string(), &format!("hb{week}")).await;
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let q = HistoryQuery { from: Some(date("2026-01-12")), to: Some(date("2026-02-16")), after, limit: 4 };
            let (page, next) = views::history(&t.db, a.id, q).await.unwrap();
            seen.extend(page);
            match next {
                Some(k) => after = Some(k),
                None => break,
            }
        }
        assert_eq!(seen.len(), 12, "6 weeks of two lines each");
        assert_eq!(seen.first().unwrap().date, date("2026-02-16"));
        assert_eq!(seen.first().unwrap().kind, "housing_benefit", "posting order breaks ties, newest first");
        assert_eq!(seen.last().unwrap().date, date("2026-01-12"));
        assert!(seen.windows(2).all(|w| (w[0].date, w[0].id) > (w[1].date, w[1].id)));

        assert_eq!(views::balance_before(&t.db, a.id, date("2026-01-12")).await.unwrap(), 1000);
        let lines = views::lines_between(&t.db, a.id, date("2026-01-12"), date("2026-01-18")).await.unwrap();
        assert_eq!(lines.iter().map(|l| l.amount_pence).sum::<i64>(), 1000);
    }

    #[tokio::test]
    async fn arrears_list_is_scoped_sorted_and_shows_the_last_payment() {
        let t = TestDb::new().await;
        let o1 = org(&t.db, "one").await;
        let o2 = org(&t.db, "two").await;
        let small = account(&t.db, o1, "rent", 10000, "2020-01-06").await;
        let big = account(&t.db, o1, "rent", 10000, "2020-01-06").await;
        let credit = account(&t.db, o1, "rent", 10000, "2020-01-06").await;
        let elsewhere = account(&t.db, o2, "rent", 10000, "2020-01-06").await;
        post_dated(&t.db, small.id, EntryKind::Charge, 5000, "2026-11-02", "s").await;
        post_dated(&t.db, big.id, EntryKind::Charge, 35000, "2026-11-02", "b").await;
        post_dated(&t.db, big.id, EntryKind::Payment, -1000, "2026-11-09", "bp").await;
        post_dated(&t.db, credit.id, EntryKind::Payment, -1000, "2026-11-09", "cp").await;
        post_dated(&t.db, elsewhere.id, EntryKind::Charge, 90000, "2026-11-02", "e").await;

        let q = ArrearsQuery {
            organisation_ids: vec![o1],
            patch: None,
            min_balance_pence: 1,
            sort: ArrearsSort::BalanceDesc,
            offset: 0,
            limit: 10,
        };
        let (rows, more) = views::arrears(&t.db, &q).await.unwrap();
        assert!(!more);
        let ids: Vec<_> = rows.iter().map(|r| r.account_id).collect();
        assert_eq!(ids, [big.id, small.id], "own organisation only, owing only, biggest first");
        assert_eq!(rows[0].weeks_in_arrears_tenths, 34);
        assert_eq!(rows[0].last_payment_date, Some(date("2026-11-09")));
        assert_eq!(rows[1].last_payment_date, None);
        assert!(rows[0].address.contains("Halifax"));
    }
}
