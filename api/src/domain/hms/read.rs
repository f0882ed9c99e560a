//! Reading an export folder: the files' bytes and their hash, then every row parsed on its
//! own (fields, keys repeated within a file). Checks that need the database come later, in
//! [`super::import`]. Nothing here touches the database, so it can run on a blocking thread.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use csv::ByteRecord;
use doorstep_shared::{AccountNumber, Money};
use sha2::{Digest, Sha256};

use super::format::{self, Column, FieldResult, File, RowError};
use crate::domain::geo::{GridRef, LatLon, bng_to_wgs84, wgs84_to_bng};
use crate::domain::ledger::{Channel, EntryKind};

/// A parsed row and the line it started on.
#[derive(Debug, Clone)]
pub struct Rec<T> {
    pub line: u64,
    pub row: T,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PropertyIn {
    pub property_ref: String,
    pub organisation: String,
    pub uprn: Option<i64>,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub town: String,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub easting: Option<i32>,
    pub northing: Option<i32>,
    pub kind: &'static str,
    pub bedrooms: Option<i32>,
    pub patch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonIn {
    pub person_ref: String,
    pub organisation: String,
    pub title: Option<String>,
    pub forename: String,
    pub surname: String,
    pub date_of_birth: Option<NaiveDate>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenancyIn {
    pub tenancy_ref: String,
    pub property_ref: String,
    pub tenure: &'static str,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberIn {
    pub tenancy_ref: String,
    pub person_ref: String,
    pub role: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountIn {
    pub account_ref: String,
    pub account_number: AccountNumber,
    pub tenancy_ref: String,
    pub kind: &'static str,
    pub weekly_charge: Money,
    pub opened_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionIn {
    pub transaction_id: String,
    pub account_ref: String,
    pub date: NaiveDate,
    pub kind: EntryKind,
    pub amount: Money,
    pub channel: Option<Channel>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkIn {
    pub work_ref: String,
    pub property_ref: String,
    pub category: &'static str,
    pub description: String,
    pub planned_start: NaiveDate,
    pub planned_end: Option<NaiveDate>,
    pub status: &'static str,
    pub contractor: Option<String>,
}

/// Everything read from one export folder.
#[derive(Debug, Default)]
pub struct Export {
    /// The folder, as given.
    pub origin: String,
    /// SHA-256 over each present file's name, length and bytes, in import order.
    pub content_hash: String,
    pub present: Vec<File>,
    /// Files in the folder that are not part of the format (reported, not read).
    pub ignored: Vec<String>,
    /// Data rows (not counting the header) per file.
    pub rows: BTreeMap<File, u64>,
    /// Where each known column sits in each file's header (0-based).
    pub positions: BTreeMap<File, HashMap<&'static str, usize>>,
    pub errors: Vec<RowError>,
    /// Keys of rows that had errors, with the line, so that rows referring to them can
    /// say why they cannot be imported.
    pub failed: HashMap<(File, String), u64>,
    pub properties: Vec<Rec<PropertyIn>>,
    pub people: Vec<Rec<PersonIn>>,
    pub tenancies: Vec<Rec<TenancyIn>>,
    pub members: Vec<Rec<MemberIn>>,
    pub accounts: Vec<Rec<AccountIn>>,
    pub transactions: Vec<Rec<TransactionIn>>,
    pub works: Vec<Rec<WorkIn>>,
}

impl Export {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }

    pub fn failed_line(&self, file: File, key: &str) -> Option<u64> {
        self.failed.get(&(file, key.to_owned())).copied()
    }

    /// The 1-based column of `name` in `file` as exported (1 if the file lacks it).
    pub fn column(&self, file: File, name: &str) -> usize {
        self.positions.get(&file).and_then(|p| p.get(name)).map_or(1, |p| p + 1)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0} holds none of the export files ({files})", files = File::ALL.map(File::name).join(", "))]
    NoFiles(String),
}

/// Reads the export files in `dir` (other files are listed as ignored).
pub fn read_dir(dir: &Path, today: NaiveDate) -> Result<Export, ReadError> {
    let io = |source| ReadError::Io { path: dir.display().to_string(), source };
    let mut files = Vec::new();
    let mut ignored = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(io)?.collect::<Result<_, _>>().map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        if File::from_name(&name).is_some() {
            let bytes =
                std::fs::read(&path).map_err(|source| ReadError::Io { path: path.display().to_string(), source })?;
            files.push((name, bytes));
        } else if !is_housekeeping(&name) {
            ignored.push(name);
        }
    }
    let mut export = read_files(&dir.display().to_string(), files, today)?;
    export.ignored = ignored;
    Ok(export)
}

/// Markers and reports that the drop-folder job writes beside the data.
fn is_housekeeping(name: &str) -> bool {
    name == "READY" || name.starts_with("import-report") || name.starts_with('.')
}

/// Parses files given by name and content (names not in the format are ignored).
pub fn read_files(origin: &str, files: Vec<(String, Vec<u8>)>, today: NaiveDate) -> Result<Export, ReadError> {
    let mut by_file: BTreeMap<File, Vec<u8>> = BTreeMap::new();
    let mut ignored = Vec::new();
    for (name, bytes) in files {
        match File::from_name(&name) {
            Some(f) => {
                by_file.insert(f, bytes);
            }
            None => ignored.push(name),
        }
    }
    if by_file.is_empty() {
        return Err(ReadError::NoFiles(origin.to_owned()));
    }
    let mut hasher = Sha256::new();
    for (file, bytes) in &by_file {
        hasher.update(file.name().as_bytes());
        hasher.update([0u8]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    let mut export = Export {
        origin: origin.to_owned(),
        content_hash: hex::encode(hasher.finalize()),
        present: by_file.keys().copied().collect(),
        ignored,
        ..Export::default()
    };
    for (file, bytes) in &by_file {
        parse_file(&mut export, *file, bytes, today);
    }
    Ok(export)
}

/// Maps byte offsets to 1-based line numbers.
struct Lines(Vec<usize>);

impl Lines {
    fn new(bytes: &[u8]) -> Self {
        Lines(bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect())
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

/// One record's fields, looked up by column name, with errors collected as they are found.
struct Fields<'a> {
    file: File,
    line: u64,
    /// For each column of the format, its position in the header (if present).
    positions: &'a HashMap<&'static str, usize>,
    record: &'a ByteRecord,
    errors: Vec<RowError>,
}

impl Fields<'_> {
    fn error(&mut self, column: usize, field: &str, reason: impl Into<String>) {
        self.errors.push(RowError {
            file: self.file.name().to_owned(),
            line: self.line,
            column,
            field: field.to_owned(),
            reason: reason.into(),
        });
    }

    /// The raw text of a column: `None` when absent, empty or not UTF-8 (which is reported).
    fn text(&mut self, name: &'static str) -> Option<(usize, &str)> {
        let pos = *self.positions.get(name)?;
        let bytes = self.record.get(pos)?;
        match std::str::from_utf8(bytes) {
            Ok(s) if s.trim().is_empty() => None,
            Ok(s) => Some((pos + 1, s)),
            Err(e) => {
                let at = e.valid_up_to();
                let reason = format!(
                    "is not valid UTF-8 (byte 0x{:02X} at offset {at}); save the file as UTF-8",
                    bytes.get(at).copied().unwrap_or(0)
                );
                self.error(pos + 1, name, reason);
                None
            }
        }
    }

    fn column_of(&self, name: &str) -> usize {
        self.positions.get(name).map_or(1, |p| p + 1)
    }

    fn required<T>(&mut self, name: &'static str, parse: impl FnOnce(&str) -> FieldResult<T>) -> Option<T> {
        let column = self.column_of(name);
        let Some((column, raw)) = self.text(name).map(|(c, s)| (c, s.to_owned())) else {
            if !self.errors.iter().any(|e| e.column == column && e.field == name) {
                self.error(column, name, "is required");
            }
            return None;
        };
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.error(column, name, reason);
                None
            }
        }
    }

    /// `Some(None)` when empty or absent; `None` when present but unacceptable.
    fn optional<T>(&mut self, name: &'static str, parse: impl FnOnce(&str) -> FieldResult<T>) -> Option<Option<T>> {
        let before = self.errors.len();
        let Some((column, raw)) = self.text(name).map(|(c, s)| (c, s.to_owned())) else {
            return (self.errors.len() == before).then_some(None);
        };
        match parse(&raw) {
            Ok(v) => Some(Some(v)),
            Err(reason) => {
                self.error(column, name, reason);
                None
            }
        }
    }
}

fn parse_file(export: &mut Export, file: File, bytes: &[u8], today: NaiveDate) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let lines = Lines::new(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut records = reader.byte_records();
    let header_error = |column: usize, reason: String| RowError {
        file: file.name().to_owned(),
        line: 1,
        column,
        field: "header".into(),
        reason,
    };
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            export.errors.push(header_error(1, format!("cannot be read as CSV: {e}")));
            return;
        }
        None => {
            export
                .errors
                .push(header_error(1, "the file is empty; a header row naming the columns is required".into()));
            export.rows.insert(file, 0);
            return;
        }
    };
    let columns: &[Column] = file.columns();
    let mut positions: HashMap<&'static str, usize> = HashMap::new();
    let mut header_ok = true;
    for (i, raw) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(raw).trim().to_ascii_lowercase();
        match columns.iter().find(|c| c.name == name) {
            Some(c) => {
                if positions.insert(c.name, i).is_some() {
                    export.errors.push(header_error(i + 1, format!("column {name:?} appears twice")));
                    header_ok = false;
                }
            }
            None => {
                export.errors.push(header_error(
                    i + 1,
                    format!(
                        "unknown column {name:?}; the columns of {} are: {}",
                        file.name(),
                        columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                    ),
                ));
                header_ok = false;
            }
        }
    }
    for c in columns.iter().filter(|c| c.required) {
        if !positions.contains_key(c.name) {
            export.errors.push(header_error(1, format!("required column {:?} is missing", c.name)));
            header_ok = false;
        }
    }
    let width = header.len();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut seen_numbers: HashMap<String, u64> = HashMap::new();
    let mut seen_uprns: HashMap<i64, u64> = HashMap::new();
    let mut leads: HashMap<String, u64> = HashMap::new();
    let mut count = 0u64;
    for result in records {
        count += 1;
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(1, |p| lines.line_at(bytes, p.byte() as usize));
                export.errors.push(RowError {
                    file: file.name().to_owned(),
                    line,
                    column: 1,
                    field: "row".into(),
                    reason: format!("cannot be read as CSV: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(1, |p| lines.line_at(bytes, p.byte() as usize));
        if !header_ok {
            continue;
        }
        let mut f = Fields { file, line, positions: &positions, record: &record, errors: Vec::new() };
        if record.len() != width {
            let column = record.len().min(width) + 1;
            let field = header.get(column - 1).map_or("row".to_owned(), |h| String::from_utf8_lossy(h).into_owned());
            f.error(
                column,
                if record.len() > width { "row" } else { &field },
                format!("has {} fields; the header has {width}", record.len()),
            );
            let key = f.text(file.key_column()).and_then(|(_, s)| format::parse_ref(s).ok());
            export.errors.append(&mut f.errors);
            if let Some(key) = key {
                export.failed.entry((file, key)).or_insert(line);
            }
            continue;
        }
        let key = match file {
            File::Properties => parse_property(&mut f).map(|r| {
                let key = r.property_ref.clone();
                if let Some(u) = r.uprn
                    && let Some(prev) = seen_uprns.insert(u, line)
                {
                    let c = f.column_of("uprn");
                    f.error(c, "uprn", format!("{u} is also on line {prev}"));
                    seen_uprns.insert(u, prev);
                }
                (key, Parsed::Property(r))
            }),
            File::People => parse_person(&mut f, today).map(|r| (r.person_ref.clone(), Parsed::Person(r))),
            File::Tenancies => parse_tenancy(&mut f).map(|r| (r.tenancy_ref.clone(), Parsed::Tenancy(r))),
            File::TenancyMembers => parse_member(&mut f).map(|r| {
                if r.role == "lead"
                    && let Some(prev) = leads.insert(r.tenancy_ref.clone(), line)
                {
                    let c = f.column_of("role");
                    f.error(c, "role", format!("tenancy {} already has a lead tenant on line {prev}", r.tenancy_ref));
                    leads.insert(r.tenancy_ref.clone(), prev);
                }
                (format!("{}\u{1f}{}", r.tenancy_ref, r.person_ref), Parsed::Member(r))
            }),
            File::Accounts => parse_account(&mut f).map(|r| {
                let n = r.account_number.as_str().to_owned();
                if let Some(prev) = seen_numbers.insert(n.clone(), line) {
                    let c = f.column_of("account_number");
                    f.error(c, "account_number", format!("{n} is also on line {prev}"));
                    seen_numbers.insert(n, prev);
                }
                (r.account_ref.clone(), Parsed::Account(r))
            }),
            File::Transactions => parse_transaction(&mut f).map(|r| (r.transaction_id.clone(), Parsed::Transaction(r))),
            File::PlannedWork => parse_work(&mut f).map(|r| (r.work_ref.clone(), Parsed::Work(r))),
        };
        // Keys must be unique within a file; the first row with a key wins.
        if let Some((k, _)) = &key
            && let Some(prev) = seen.get(k)
        {
            let (c, name) = if file == File::TenancyMembers {
                (f.column_of("person_ref"), "person_ref")
            } else {
                (f.column_of(file.key_column()), file.key_column())
            };
            let shown = k.replace('\u{1f}', " / ");
            f.error(c, name, format!("{shown} is also on line {prev}"));
        }
        let failed_key = key
            .as_ref()
            .map(|(k, _)| k.clone())
            .or_else(|| f.text(file.key_column()).and_then(|(_, s)| format::parse_ref(s).ok()));
        if !f.errors.is_empty() {
            export.errors.append(&mut f.errors);
            if let Some(k) = failed_key
                && !seen.contains_key(&k)
            {
                export.failed.entry((file, k)).or_insert(line);
            }
            continue;
        }
        let Some((k, parsed)) = key else { continue };
        seen.insert(k, line);
        match parsed {
            Parsed::Property(row) => export.properties.push(Rec { line, row }),
            Parsed::Person(row) => export.people.push(Rec { line, row }),
            Parsed::Tenancy(row) => export.tenancies.push(Rec { line, row }),
            Parsed::Member(row) => export.members.push(Rec { line, row }),
            Parsed::Account(row) => export.accounts.push(Rec { line, row }),
            Parsed::Transaction(row) => export.transactions.push(Rec { line, row }),
            Parsed::Work(row) => export.works.push(Rec { line, row }),
        }
    }
    export.rows.insert(file, count);
    export.positions.insert(file, positions);
}

enum Parsed {
    Property(PropertyIn),
    Person(PersonIn),
    Tenancy(TenancyIn),
    Member(MemberIn),
    Account(AccountIn),
    Transaction(TransactionIn),
    Work(WorkIn),
}

/// Distance in metres between two nearby WGS84 points.
fn metres_apart(a: LatLon, b: LatLon) -> f64 {
    let dy = (a.lat - b.lat) * 111_320.0;
    let dx = (a.lon - b.lon) * 111_320.0 * a.lat.to_radians().cos();
    (dx * dx + dy * dy).sqrt()
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn parse_property(f: &mut Fields<'_>) -> Option<PropertyIn> {
    let property_ref = f.required("property_ref", format::parse_ref);
    let organisation = f.required("organisation", format::parse_slug);
    let uprn = f.optional("uprn", |s| format::parse_int(s, 1, 999_999_999_999));
    let address_line1 = f.required("address_line1", |s| format::parse_text(s, 200));
    let address_line2 = f.optional("address_line2", |s| format::parse_text(s, 200));
    let town = f.required("town", |s| format::parse_text(s, 100));
    let postcode = f.required("postcode", format::parse_postcode);
    let latitude = f.optional("latitude", |s| format::parse_decimal(s, 49.0, 61.0));
    let longitude = f.optional("longitude", |s| format::parse_decimal(s, -9.0, 2.5));
    let easting = f.optional("easting", |s| format::parse_int(s, 0, 700_000));
    let northing = f.optional("northing", |s| format::parse_int(s, 0, 1_300_000));
    let kind = f.required("kind", |s| format::parse_choice(s, format::PROPERTY_KINDS));
    let bedrooms = f.optional("bedrooms", |s| format::parse_int(s, 0, 20));
    let patch = f.optional("patch", |s| format::parse_text(s, 100));
    let (mut latitude, mut longitude, mut easting, mut northing) = (latitude?, longitude?, easting?, northing?);
    // Coordinates come in pairs; either pair gives the other through the National Grid.
    for (a, b, an, bn) in [
        (latitude.is_some(), longitude.is_some(), "latitude", "longitude"),
        (easting.is_some(), northing.is_some(), "easting", "northing"),
    ] {
        if a != b {
            let missing = if a { bn } else { an };
            let c = f.column_of(missing);
            f.error(c, missing, format!("{an} and {bn} go together; give both or neither"));
            return None;
        }
    }
    match (latitude.zip(longitude), easting.zip(northing)) {
        (Some((lat, lon)), Some((e, n))) => {
            let from_grid = bng_to_wgs84(GridRef { easting: e as f64, northing: n as f64 });
            let apart = metres_apart(LatLon { lat, lon }, from_grid);
            if apart > 50.0 {
                let c = f.column_of("easting");
                f.error(c, "easting", format!("easting/northing are {apart:.0} m from latitude/longitude"));
                return None;
            }
        }
        (Some((lat, lon)), None) => {
            let (e, n) = wgs84_to_bng(LatLon { lat, lon }).to_metres();
            easting = Some(e as i64);
            northing = Some(n as i64);
        }
        (None, Some((e, n))) => {
            let p = bng_to_wgs84(GridRef { easting: e as f64, northing: n as f64 });
            latitude = Some(round6(p.lat));
            longitude = Some(round6(p.lon));
        }
        (None, None) => {}
    }
    Some(PropertyIn {
        property_ref: property_ref?,
        organisation: organisation?,
        uprn: uprn?,
        address_line1: address_line1?,
        address_line2: address_line2?,
        town: town?,
        postcode: postcode?.to_string(),
        latitude,
        longitude,
        easting: easting.map(|v| v as i32),
        northing: northing.map(|v| v as i32),
        kind: kind?,
        bedrooms: bedrooms?.map(|v| v as i32),
        patch: patch?,
    })
}

fn parse_person(f: &mut Fields<'_>, today: NaiveDate) -> Option<PersonIn> {
    let person_ref = f.required("person_ref", format::parse_ref);
    let organisation = f.required("organisation", format::parse_slug);
    let title = f.optional("title", |s| format::parse_text(s, 20));
    let forename = f.required("forename", |s| format::parse_text(s, 100));
    let surname = f.required("surname", |s| format::parse_text(s, 100));
    let date_of_birth = f.optional("date_of_birth", |s| {
        let d = format::parse_date(s)?;
        if d > today { Err(format!("{d} is in the future")) } else { Ok(d) }
    });
    let email = f.optional("email", format::parse_email);
    let phone = f.optional("phone", format::parse_phone);
    Some(PersonIn {
        person_ref: person_ref?,
        organisation: organisation?,
        title: title?,
        forename: forename?,
        surname: surname?,
        date_of_birth: date_of_birth?,
        email: email?,
        phone: phone?,
    })
}

fn parse_tenancy(f: &mut Fields<'_>) -> Option<TenancyIn> {
    let tenancy_ref = f.required("tenancy_ref", format::parse_ref);
    let property_ref = f.required("property_ref", format::parse_ref);
    let tenure = f.required("tenure", |s| format::parse_choice(s, format::TENURES));
    let start_date = f.required("start_date", format::parse_date);
    let end_date = f.optional("end_date", format::parse_date);
    let (start_date, end_date) = (start_date?, end_date?);
    if let Some(end) = end_date
        && end < start_date
    {
        let c = f.column_of("end_date");
        f.error(c, "end_date", format!("{end} is before the start date {start_date}"));
        return None;
    }
    Some(TenancyIn { tenancy_ref: tenancy_ref?, property_ref: property_ref?, tenure: tenure?, start_date, end_date })
}

fn parse_member(f: &mut Fields<'_>) -> Option<MemberIn> {
    let tenancy_ref = f.required("tenancy_ref", format::parse_ref);
    let person_ref = f.required("person_ref", format::parse_ref);
    let role = f.required("role", |s| format::parse_choice(s, format::MEMBER_ROLES));
    Some(MemberIn { tenancy_ref: tenancy_ref?, person_ref: person_ref?, role: role? })
}

fn parse_account(f: &mut Fields<'_>) -> Option<AccountIn> {
    let account_ref = f.required("account_ref", format::parse_ref);
    let account_number = f.required("account_number", format::parse_account_number);
    let tenancy_ref = f.required("tenancy_ref", format::parse_ref);
    let kind = f.required("kind", |s| format::parse_choice(s, format::ACCOUNT_KINDS));
    let weekly_charge = f.required("weekly_charge", |s| {
        let m = format::parse_amount(s)?;
        if m.is_negative() { Err(format!("{m} is negative; a weekly charge is zero or more")) } else { Ok(m) }
    });
    let opened_on = f.required("opened_on", format::parse_date);
    let closed_on = f.optional("closed_on", format::parse_date);
    let (opened_on, closed_on) = (opened_on?, closed_on?);
    if let Some(closed) = closed_on
        && closed < opened_on
    {
        let c = f.column_of("closed_on");
        f.error(c, "closed_on", format!("{closed} is before the opening date {opened_on}"));
        return None;
    }
    Some(AccountIn {
        account_ref: account_ref?,
        account_number: account_number?,
        tenancy_ref: tenancy_ref?,
        kind: kind?,
        weekly_charge: weekly_charge?,
        opened_on,
        closed_on,
    })
}

fn parse_transaction(f: &mut Fields<'_>) -> Option<TransactionIn> {
    let transaction_id = f.required("transaction_id", format::parse_ref);
    let account_ref = f.required("account_ref", format::parse_ref);
    let date = f.required("date", format::parse_date);
    let kind = f.required("kind", format::parse_entry_kind);
    let amount = f.required("amount", format::parse_amount);
    let channel = f.optional("channel", format::parse_channel);
    let description = f.optional("description", |s| format::parse_text(s, 200));
    let (kind, amount, channel) = (kind?, amount?, channel?);
    if !kind.accepts(amount) {
        let c = f.column_of("amount");
        let rule = match kind {
            EntryKind::Charge | EntryKind::Refund => "must be positive (it adds to what the tenant owes)",
            EntryKind::Payment | EntryKind::HousingBenefit | EntryKind::UniversalCredit => {
                "must be negative (money received reduces what the tenant owes)"
            }
            EntryKind::Adjustment | EntryKind::Reversal => "must not be zero",
        };
        f.error(c, "amount", format!("{amount} has the wrong sign for a {kind}: a {kind} {rule}"));
        return None;
    }
    if kind == EntryKind::Charge && channel.is_some() {
        let c = f.column_of("channel");
        f.error(c, "channel", "a charge has no payment channel; leave it empty");
        return None;
    }
    Some(TransactionIn {
        transaction_id: transaction_id?,
        account_ref: account_ref?,
        date: date?,
        kind,
        amount,
        channel,
        description: description?,
    })
}

fn parse_work(f: &mut Fields<'_>) -> Option<WorkIn> {
    let work_ref = f.required("work_ref", format::parse_ref);
    let property_ref = f.required("property_ref", format::parse_ref);
    let category = f.required("category", |s| format::parse_choice(s, format::WORK_CATEGORIES));
    let description = f.required("description", |s| format::parse_text(s, 200));
    let planned_start = f.required("planned_start", format::parse_date);
    let planned_end = f.optional("planned_end", format::parse_date);
    let status = f.required("status", |s| format::parse_choice(s, format::WORK_STATUSES));
    let contractor = f.optional("contractor", |s| format::parse_text(s, 100));
    let (planned_start, planned_end) = (planned_start?, planned_end?);
    if let Some(end) = planned_end
        && end < planned_start
    {
        let c = f.column_of("planned_end");
        f.error(c, "planned_end", format!("{end} is before the planned start {planned_start}"));
        return None;
    }
    Some(WorkIn {
        work_ref: work_ref?,
        property_ref: property_ref?,
        category: category?,
        description: description?,
        planned_start,
        planned_end,
        status: status?,
        contractor: contractor?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }

    fn read(name: &str, text: &[u8]) -> Export {
        read_files("test", vec![(name.to_owned(), text.to_vec())], today()).unwrap()
    }

    fn located(e: &Export) -> Vec<String> {
        e.errors.iter().map(|e| format!("{}:{}:{}: {}", e.file, e.line, e.column, e.field)).collect()
    }

    const TX_HEADER: &str = "transaction_id,account_ref,date,kind,amount,channel,description\n";

    #[test]
    fn errors_name_file_line_column_and_field() {
        let text = format!(
            "{TX_HEADER}T1,A1,2025-01-06,charge,95.00,,Rent\nT2,A1,2025-02-30,payment,-95.00,web,\n\nT3,A1,2025-01-07,payment,95.00,web,\nT1,A1,2025-01-08,payment,-1.00,,\n"
        );
        let e = read("transactions.csv", text.as_bytes());
        assert_eq!(
            located(&e),
            vec!["transactions.csv:3:3: date", "transactions.csv:5:5: amount", "transactions.csv:6:1: transaction_id"]
        );
        assert_eq!(e.transactions.len(), 1);
        assert_eq!(e.rows[&File::Transactions], 4);
        assert!(e.errors[1].reason.contains("wrong sign"), "{}", e.errors[1].reason);
    }

    #[test]
    fn quoted_fields_spanning_lines_keep_line_numbers_right() {
        let text = format!("{TX_HEADER}T1,A1,2025-01-06,charge,95.00,,\"two\nlines\"\nT2,A1,2025-01-06,charge,x,,\n");
        let e = read("transactions.csv", text.as_bytes());
        // A line break inside a description is refused, but the record still starts on
        // line 2 and the next one on line 4.
        assert_eq!(located(&e), vec!["transactions.csv:2:7: description", "transactions.csv:4:5: amount"]);
    }

    #[test]
    fn wrong_field_counts_and_bad_bytes_are_located() {
        let mut text =
            b"person_ref,organisation,forename,surname\nP1,calder-riverside,Ann\nP2,calder-riverside,Jos".to_vec();
        text.push(0xE9);
        text.extend_from_slice(b",Smith\n");
        let e = read("people.csv", &text);
        assert_eq!(located(&e), vec!["people.csv:2:4: surname", "people.csv:3:3: forename"]);
        assert!(e.errors[1].reason.contains("UTF-8"));
        assert_eq!(e.failed_line(File::People, "P1"), Some(2));
    }

    #[test]
    fn headers_are_checked() {
        let e = read("tenancies.csv", b"tenancy_ref,property_ref,tenur,start_date\nT1,P1,secure,2020-01-06\n");
        let loc = located(&e);
        assert!(loc.contains(&"tenancies.csv:1:3: header".to_owned()), "{loc:?}");
        assert!(e.errors.iter().any(|e| e.reason.contains("\"tenure\" is missing")));
        assert!(e.tenancies.is_empty());
        let e = read("tenancies.csv", b"");
        assert!(e.errors[0].reason.contains("empty"));
    }

    #[test]
    fn a_byte_order_mark_and_crlf_are_fine() {
        let e = read("tenancy_members.csv", b"\xEF\xBB\xBFtenancy_ref,person_ref,role\r\nT1,P1,lead\r\nT1,P2,lead\r\n");
        assert_eq!(located(&e), vec!["tenancy_members.csv:3:3: role"]);
    }

    #[test]
    fn grid_references_fill_in_coordinates_and_disagreement_is_an_error() {
        let header = "property_ref,organisation,address_line1,town,postcode,kind,easting,northing,latitude,longitude\n";
        let text = format!(
            "{header}P1,calder-riverside,1 Oak Road,Dewsbury,WF13 3AB,home,424500,421700,,\nP2,calder-riverside,2 Oak Road,Dewsbury,WF13 3AB,home,424500,421700,53.0,-1.6\n"
        );
        let e = read("properties.csv", text.as_bytes());
        assert_eq!(located(&e), vec!["properties.csv:3:7: easting"]);
        let p = &e.properties[0].row;
        assert!((p.latitude.unwrap() - 53.69).abs() < 0.02 && (p.longitude.unwrap() + 1.63).abs() < 0.03, "{p:?}");
    }

    proptest! {
        #[test]
        fn any_bytes_in_any_file_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), which in 0usize..7) {
            let file = File::ALL[which];
            let mut text = file.columns().iter().map(|c| c.name).collect::<Vec<_>>().join(",").into_bytes();
            text.push(b'\n');
            text.extend_from_slice(&bytes);
            let e = read(file.name(), &text);
            for err in &e.errors {
                prop_assert!(err.line >= 1 && err.column >= 1);
            }
        }
    }
}
