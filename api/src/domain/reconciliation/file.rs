//! Reading a provider's end-of-day file (`docs/payments.md`):
//!
//! ```text
//! payment_id,account_number,amount_pence,channel,paid_at,reference
//! pay_9a1d…,100012345,1234,web,2026-11-22T10:15:03.100Z,pi_…
//! ```
//!
//! Strictly: the header must be exactly those six columns in that order, and every line is
//! checked on its own (field count, UTF-8, a positive whole number of pence, a known channel,
//! an RFC 3339 time, a payment id not repeated in the file). Every problem is reported as
//! `file:line:column: field: reason`, in the style of the HMS importer, and a file with any
//! problem is not reconciled at all. Nothing here touches the database, so it can run on a
//! blocking thread.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use csv::ByteRecord;
use sha2::{Digest, Sha256};

use crate::domain::hms::RowError;
use crate::domain::ledger::Channel;
use crate::domain::payments::model::london_date;

/// The columns of the file, in order.
pub const HEADER: [&str; 6] = ["payment_id", "account_number", "amount_pence", "channel", "paid_at", "reference"];
/// Largest single payment accepted: anything bigger is certainly a mistake in the file.
pub const MAX_AMOUNT_PENCE: i64 = 100_000_000;
/// Errors kept for the report; the rest are counted.
pub const MAX_ERRORS_KEPT: usize = 1000;
const MAX_ID_CHARS: usize = 128;
const MAX_REFERENCE_CHARS: usize = 100;

/// One payment the provider says it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The physical line the record starts on (the header is line 1).
    pub line: u32,
    pub payment_id: Box<str>,
    /// The account number the payer quoted, without spaces and upper case, as accounts are
    /// looked up (it may be no account's number: that is what suspense is for).
    pub account_number: Box<str>,
    pub amount_pence: i64,
    pub channel: Channel,
    pub paid_at: DateTime<Utc>,
    /// Our payment intent id, when the payment started in the portal.
    pub reference: Option<Box<str>>,
}

/// The London business dates a file's lines cover, for finding ledger payments it lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessDates {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A file that passed every check.
#[derive(Debug, Clone)]
pub struct EodFile {
    pub name: String,
    /// Hex SHA-256 of the bytes as read: the run's identity.
    pub sha256: String,
    pub lines: Vec<Line>,
    pub total_pence: i64,
    pub dates: Option<BusinessDates>,
}

/// A file that did not: nothing from it may be used.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileErrors {
    pub file: String,
    pub sha256: String,
    /// Records after the header.
    pub lines: u64,
    /// The first [`MAX_ERRORS_KEPT`] problems, in file order.
    pub errors: Vec<RowError>,
    pub error_count: u64,
}

impl std::fmt::Display for FileErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.errors {
            writeln!(f, "{e}")?;
        }
        let more = self.error_count.saturating_sub(self.errors.len() as u64);
        if more > 0 {
            writeln!(f, "… and {more} more error(s)")?;
        }
        write!(
            f,
            "{}: {} error(s) in {} line(s); nothing was reconciled (fix the file and run it again)",
            self.file, self.error_count, self.lines
        )
    }
}

/// Parses a file's bytes. `name` is how errors name the file (its file name).
pub fn parse(name: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<EodFile, FileErrors> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let mut errors = Errors { file: name, kept: Vec::new(), count: 0 };
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let breaks = LineBreaks::new(body);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body);
    let mut records = reader.byte_records();
    let header_ok = match records.next() {
        None => {
            errors.push(1, 1, "header", format!("the file is empty; the first line must be {}", HEADER.join(",")));
            false
        }
        Some(Err(e)) => {
            errors.push(1, 1, "header", format!("cannot be read as CSV: {e}"));
            false
        }
        Some(Ok(h)) => check_header(&h, &mut errors),
    };
    let mut lines = Vec::new();
    let mut seen: HashMap<Box<str>, u32> = HashMap::new();
    let mut count = 0u64;
    let mut total: i64 = 0;
    let latest = now + chrono::Duration::hours(1);
    for result in records {
        count += 1;
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(1, |p| breaks.line_at(body, p.byte() as usize));
                errors.push(line, 1, "line", format!("cannot be read as CSV: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(1, |p| breaks.line_at(body, p.byte() as usize));
        if !header_ok {
            continue;
        }
        let before = errors.count;
        if record.len() != HEADER.len() {
            let column = record.len().min(HEADER.len()) + 1;
            let field = HEADER.get(column - 1).copied().unwrap_or("line");
            errors.push(line, column, field, format!("has {} fields; the header has {}", record.len(), HEADER.len()));
            continue;
        }
        let mut f = Fields { record: &record, line, errors: &mut errors };
        let payment_id = f.required(0, |s| {
            let s = s.trim();
            if s.chars().count() > MAX_ID_CHARS {
                Err(format!("is longer than {MAX_ID_CHARS} characters"))
            } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err("contains a space or a control character".into())
            } else {
                Ok(Box::<str>::from(s))
            }
        });
        let account_number = f.optional(1, |s| {
            if s.chars().count() > MAX_REFERENCE_CHARS {
                Err(format!("is longer than {MAX_REFERENCE_CHARS} characters"))
            } else if s.chars().any(char::is_control) {
                Err("contains a control character".into())
            } else {
                // As accounts are looked up: spaces do not count, case does not matter.
                Ok(s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase().into_boxed_str())
            }
        });
        let amount = f.required(2, |s| {
            let s = s.trim();
            let v: i64 = s.parse().map_err(|_| format!("{s:?} is not a whole number of pence"))?;
            if v <= 0 {
                Err(format!("{v} is not more than zero; the file lists payments received"))
            } else if v > MAX_AMOUNT_PENCE {
                Err(format!("{v} is more than {MAX_AMOUNT_PENCE} pence; is it in the right unit?"))
            } else {
                Ok(v)
            }
        });
        let channel = f.required(3, |s| parse_channel(s.trim()));
        let paid_at = f.required(4, |s| {
            let s = s.trim();
            let t = DateTime::parse_from_rfc3339(s)
                .map_err(|e| format!("{s:?} is not a date and time with an offset, as in 2026-11-22T10:15:03Z ({e})"))?
                .with_timezone(&Utc);
            if t > latest { Err(format!("{s} is in the future")) } else { Ok(t) }
        });
        let reference = f.optional(5, |s| {
            let s = s.trim();
            if s.chars().count() > MAX_REFERENCE_CHARS {
                Err(format!("is longer than {MAX_REFERENCE_CHARS} characters"))
            } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err("contains a space or a control character".into())
            } else {
                Ok(Box::<str>::from(s))
            }
        });
        // A payment id twice is an error even when the first line has others of its own.
        let line_no = u32::try_from(line).unwrap_or(u32::MAX);
        if let Some(id) = &payment_id {
            match seen.get(id) {
                Some(prev) => errors.push(line, 1, HEADER[0], format!("{id} is also on line {prev}")),
                None => {
                    seen.insert(id.clone(), line_no);
                }
            }
        }
        if errors.count != before {
            continue;
        }
        let (Some(payment_id), Some(account_number), Some(amount_pence), Some(channel), Some(paid_at), Some(reference)) =
            (payment_id, account_number, amount, channel, paid_at, reference)
        else {
            continue;
        };
        let Some(sum) = total.checked_add(amount_pence) else {
            errors.push(line, 3, HEADER[2], "makes the file's total overflow".to_owned());
            continue;
        };
        total = sum;
        lines.push(Line {
            line: line_no,
            payment_id,
            account_number: account_number.unwrap_or_default(),
            amount_pence,
            channel,
            paid_at,
            reference,
        });
    }
    if errors.count > 0 {
        return Err(FileErrors {
            file: name.to_owned(),
            sha256,
            lines: count,
            errors: errors.kept,
            error_count: errors.count,
        });
    }
    let dates = business_dates(&lines);
    Ok(EodFile { name: name.to_owned(), sha256, lines, total_pence: total, dates })
}

/// The London business dates whose ledger payments a file answers for.
///
/// The ledger dates a payment by `london_date(paid_at)`. A provider's file covers whole days
/// of its own, which for the sandbox are UTC days (`docs/payments.md`). In winter the two
/// agree. In summer a UTC day D runs from 01:00 on London date D to 01:00 on D+1, so a
/// D file's last hour carries London date D+1. Counting D+1 as one of the file's dates would
/// report every payment of D+1 after 01:00 — tomorrow's file — as missing. So a London date
/// counts only where some line's London date and UTC date agree: the date the file mostly
/// covers. (A file cut on London days has no such fringe and all its dates count.)
///
/// The other fringe — the first London hour of D, which a UTC file lists on D-1 — is in the
/// ledger on D but in the previous file. Those payments are reported as missing only if no
/// earlier run of the same provider has already accounted for them, and a later run that
/// finds a payment listed settles the earlier run's "not in file" item (see
/// [`super::service`]). Run the files in order and the fringe never shows.
pub fn business_dates(lines: &[Line]) -> Option<BusinessDates> {
    let mut dates = lines.iter().map(|l| (london_date(l.paid_at), l.paid_at.date_naive())).filter(|(l, u)| l == u);
    let (first, _) = dates.next()?;
    let (from, to) = dates.fold((first, first), |(lo, hi), (d, _)| (lo.min(d), hi.max(d)));
    Some(BusinessDates { from, to })
}

/// The channels a provider reports. Housing Benefit, Universal Credit and HMS postings do
/// not come from payment providers.
fn parse_channel(s: &str) -> Result<Channel, String> {
    const PROVIDER_CHANNELS: &[Channel] = &[
        Channel::Web,
        Channel::App,
        Channel::Telephone,
        Channel::RetailCash,
        Channel::RecurringCard,
        Channel::PayByLink,
        Channel::DirectDebit,
        Channel::StandingOrder,
    ];
    match Channel::parse(&s.to_ascii_lowercase()) {
        Some(c) if PROVIDER_CHANNELS.contains(&c) => Ok(c),
        _ => Err(format!(
            "{s:?} is not a payment channel; use one of {}",
            PROVIDER_CHANNELS.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn check_header(h: &ByteRecord, errors: &mut Errors<'_>) -> bool {
    let before = errors.count;
    for (i, want) in HEADER.iter().enumerate() {
        match h.get(i) {
            None => errors.push(
                1,
                i + 1,
                "header",
                format!("column {want:?} is missing; the header must be {}", HEADER.join(",")),
            ),
            Some(raw) => {
                let got = String::from_utf8_lossy(raw).trim().to_ascii_lowercase();
                if got != *want {
                    errors.push(
                        1,
                        i + 1,
                        "header",
                        format!("expected column {want:?}, found {got:?}; the header must be {}", HEADER.join(",")),
                    );
                }
            }
        }
    }
    if h.len() > HEADER.len() {
        errors.push(1, HEADER.len() + 1, "header", format!("has {} columns; the file has {}", h.len(), HEADER.len()));
    }
    errors.count == before
}

struct Errors<'a> {
    file: &'a str,
    kept: Vec<RowError>,
    count: u64,
}

impl Errors<'_> {
    fn push(&mut self, line: u64, column: usize, field: &str, reason: String) {
        self.count += 1;
        if self.kept.len() < MAX_ERRORS_KEPT {
            self.kept.push(RowError { file: self.file.to_owned(), line, column, field: field.to_owned(), reason });
        }
    }
}

/// One record's fields by position, errors collected as they are found.
struct Fields<'r, 'e, 'f> {
    record: &'r ByteRecord,
    line: u64,
    errors: &'e mut Errors<'f>,
}

impl Fields<'_, '_, '_> {
    /// The field's text: `Err(())` when it is not UTF-8 (reported).
    fn text(&mut self, i: usize) -> Result<&str, ()> {
        let bytes = self.record.get(i).unwrap_or_default();
        std::str::from_utf8(bytes).map_err(|e| {
            let at = e.valid_up_to();
            let reason = format!(
                "is not valid UTF-8 (byte 0x{:02X} at offset {at}); save the file as UTF-8",
                bytes.get(at).copied().unwrap_or(0)
            );
            self.errors.push(self.line, i + 1, HEADER[i], reason);
        })
    }

    fn required<T>(&mut self, i: usize, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let line = self.line;
        let text = self.text(i).ok()?;
        if text.trim().is_empty() {
            self.errors.push(line, i + 1, HEADER[i], "is required".into());
            return None;
        }
        match parse(text) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.errors.push(line, i + 1, HEADER[i], reason);
                None
            }
        }
    }

    /// `Some(None)` when empty; `None` when present but unacceptable.
    fn optional<T>(&mut self, i: usize, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<Option<T>> {
        let line = self.line;
        let text = self.text(i).ok()?;
        if text.trim().is_empty() {
            return Some(None);
        }
        match parse(text) {
            Ok(v) => Some(Some(v)),
            Err(reason) => {
                self.errors.push(line, i + 1, HEADER[i], reason);
                None
            }
        }
    }
}

/// Maps byte offsets to 1-based line numbers.
struct LineBreaks(Vec<usize>);

impl LineBreaks {
    fn new(bytes: &[u8]) -> Self {
        LineBreaks(bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect())
    }

    /// The line of the first byte at or after `offset` that is not a line break (the csv
    /// reader's position is before any blank lines it skips).
    fn line_at(&self, bytes: &[u8], mut offset: usize) -> u64 {
        while offset < bytes.len() && matches!(bytes[offset], b'\n' | b'\r') {
            offset += 1;
        }
        (self.0.partition_point(|&nl| nl < offset) + 1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: &str = "payment_id,account_number,amount_pence,channel,paid_at,reference\n";

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn located(e: &FileErrors) -> Vec<String> {
        e.errors.iter().map(|e| format!("{}:{}:{}: {}", e.file, e.line, e.column, e.field)).collect()
    }

    #[test]
    fn a_good_file_reads_every_line() {
        let text = format!(
            "{H}pay_1,1000 0123,1234,web,2026-11-22T10:15:03.100Z,pi_abc\r\npay_2,x9,5,retail_cash,2026-11-22T11:00:00+00:00,\n"
        );
        let f = parse("eod.csv", text.as_bytes(), now()).unwrap();
        assert_eq!(f.lines.len(), 2);
        assert_eq!(&*f.lines[0].account_number, "10000123");
        assert_eq!(f.lines[0].reference.as_deref(), Some("pi_abc"));
        assert_eq!(f.lines[1].reference, None);
        assert_eq!(f.lines[1].line, 3);
        assert_eq!(f.total_pence, 1239);
        assert_eq!(f.dates.unwrap().from, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        assert_eq!(f.sha256.len(), 64);
    }

    #[test]
    fn every_bad_field_is_located_and_nothing_is_kept() {
        let mut text = format!(
            "{H}pay_1,10000001,12x,web,2026-11-22T10:00:00Z,\npay_2,10000001,100,web,2026-11-31T10:00:00Z,\npay_3,10000001,100,web\npay_4,10000001,100,carrier_pigeon,2026-11-22T10:00:00Z,\npay_1,10000001,100,web,2026-11-22T10:00:00Z,\npay_6,1000"
        )
        .into_bytes();
        text.push(0xE9);
        text.extend_from_slice(b",100,web,2026-11-22T10:00:00Z,\npay_7,10000001,0,web,2026-11-22T10:00:00Z,\n");
        let e = parse("eod.csv", &text, now()).unwrap_err();
        assert_eq!(
            located(&e),
            vec![
                "eod.csv:2:3: amount_pence",
                "eod.csv:3:5: paid_at",
                "eod.csv:4:5: paid_at",
                "eod.csv:5:4: channel",
                "eod.csv:6:1: payment_id",
                "eod.csv:7:2: account_number",
                "eod.csv:8:3: amount_pence",
            ]
        );
        assert!(e.errors[2].reason.contains("has 4 fields"), "{}", e.errors[2].reason);
        assert!(e.errors[4].reason.contains("also on line 2"), "{}", e.errors[4].reason);
        assert!(e.errors[5].reason.contains("UTF-8"), "{}", e.errors[5].reason);
        assert_eq!(e.error_count, 7);
        assert_eq!(e.lines, 7);
    }

    #[test]
    fn the_header_must_match() {
        let e = parse(
            "eod.csv",
            b"payment_id,account,amount_pence,channel,paid_at,reference\npay_1,1,1,web,2026-11-22T10:00:00Z,\n",
            now(),
        )
        .unwrap_err();
        assert_eq!(located(&e), vec!["eod.csv:1:2: header"]);
        assert!(e.errors[0].reason.contains("expected column \"account_number\""));
        let e = parse("eod.csv", b"", now()).unwrap_err();
        assert!(e.errors[0].reason.contains("empty"));
        let e = parse("eod.csv", b"payment_id,account_number,amount_pence\n", now()).unwrap_err();
        assert_eq!(located(&e), vec!["eod.csv:1:4: header", "eod.csv:1:5: header", "eod.csv:1:6: header"]);
    }

    #[test]
    fn summer_files_count_the_date_they_mostly_cover() {
        let line = |paid_at: &str| Line {
            line: 2,
            payment_id: "p".into(),
            account_number: "a".into(),
            amount_pence: 1,
            channel: Channel::Web,
            paid_at: DateTime::parse_from_rfc3339(paid_at).unwrap().with_timezone(&Utc),
            reference: None,
        };
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // A UTC day in summer: its last hour is the next London date, which does not count.
        let summer = [line("2026-06-10T00:30:00Z"), line("2026-06-10T23:30:00Z")];
        assert_eq!(business_dates(&summer), Some(BusinessDates { from: d("2026-06-10"), to: d("2026-06-10") }));
        // A winter day is the same in both.
        let winter = [line("2026-01-10T00:00:00Z"), line("2026-01-11T23:59:59Z")];
        assert_eq!(business_dates(&winter), Some(BusinessDates { from: d("2026-01-10"), to: d("2026-01-11") }));
        // Only the fringe hour: no date to check.
        assert_eq!(business_dates(&[line("2026-06-10T23:30:00Z")]), None);
        assert_eq!(business_dates(&[]), None);
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic_and_errors_are_located(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut text = H.as_bytes().to_vec();
            text.extend_from_slice(&bytes);
            if let Err(e) = parse("eod.csv", &text, now()) {
                for err in &e.errors {
                    prop_assert!(err.line >= 1 && err.column >= 1 && err.column <= 7);
                }
            }
        }
    }
}
