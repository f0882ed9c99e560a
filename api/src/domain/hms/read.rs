//! Reading an export folder: the files' bytes and their hash, then every row parsed on its
//! own (fields, keys repeated within a file). Checks that need the database come later, in
//! [`super::import`]. Nothing here touches the database, so it can run on a blocking thread.
//!
//! `transactions.csv` may be far bigger than memory (a hundred million rows, ten gigabytes,
//! at a large landlord), so it is never held whole. [`read_dir`] streams it once: it hashes
//! the bytes and checks every row, keeping only the errors and a Bloom filter's guesses at
//! repeated transaction ids. The importer then streams it a second time with
//! [`TransactionsFile::reread`], which hands over the rows that passed, in file order and in
//! batches, confirms the guessed repeats exactly, and fails if the bytes are not the ones
//! read the first time. The other files are a few hundred thousand rows at most and are read
//! and parsed in memory.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use csv::ByteRecord;
use doorstep_shared::{AccountNumber, Money};
use sha2::{Digest, Sha256};

use super::format::{self, Column, FieldResult, File, RowError};
use super::import::{ImportProgress, NoProgress};
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
    /// Errors found by reading. A transaction id repeated within `transactions.csv` is
    /// found only by the second reading ([`TransactionsFile::reread`]), during the import.
    pub errors: Vec<RowError>,
    /// Keys of rows that had errors, with the line, so that rows referring to them can
    /// say why they cannot be imported.
    pub failed: HashMap<(File, String), u64>,
    pub properties: Vec<Rec<PropertyIn>>,
    pub people: Vec<Rec<PersonIn>>,
    pub tenancies: Vec<Rec<TenancyIn>>,
    pub members: Vec<Rec<MemberIn>>,
    pub accounts: Vec<Rec<AccountIn>>,
    /// `transactions.csv`, when present: not its rows, which are streamed when imported.
    pub transactions: Option<TransactionsFile>,
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
    #[error("{0} changed while it was being imported; nothing was imported: import it again once it is complete")]
    Changed(String),
}

/// Where a streamed file's bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file on disk, opened afresh for each reading.
    Path(PathBuf),
    /// Bytes already in memory (tests, [`read_files`]).
    Bytes(Arc<[u8]>),
}

impl Source {
    fn open(&self) -> Result<(Box<dyn Read + Send>, u64), ReadError> {
        match self {
            Source::Path(path) => {
                let io = |source| ReadError::Io { path: path.display().to_string(), source };
                let f = std::fs::File::open(path).map_err(io)?;
                let len = f.metadata().map_err(io)?.len();
                Ok((Box::new(f), len))
            }
            Source::Bytes(b) => Ok((Box::new(std::io::Cursor::new(Arc::clone(b))), b.len() as u64)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Bytes(_) => File::Transactions.name().to_owned(),
        }
    }

    fn io_error(&self, source: std::io::Error) -> ReadError {
        ReadError::Io { path: self.describe(), source }
    }
}

/// `transactions.csv` after its first reading.
#[derive(Debug)]
pub struct TransactionsFile {
    pub source: Source,
    /// Rows that passed the first reading (those the importer may post).
    pub valid_rows: u64,
    len: u64,
    /// The export's hash just before this file's bytes, and its digest just after them:
    /// the second reading must arrive at the same digest.
    hash_before: Sha256,
    hash_after: Vec<u8>,
    /// 64-bit hashes of the transaction ids that may occur more than once (a Bloom
    /// filter's positives): only rows with these are compared exactly, in the second reading.
    repeats: Arc<HashSet<u64>>,
}

/// A batch of `transactions.csv`'s valid rows from the second reading.
#[derive(Debug, Default)]
pub struct Batch {
    pub rows: Vec<Rec<TransactionIn>>,
    /// Rows whose transaction id is on an earlier line too (the first is kept).
    pub errors: Vec<RowError>,
    /// Records read for this batch, valid or not (for progress).
    pub read: u64,
}

impl TransactionsFile {
    /// Starts the second reading. Blocking: run it, and [`Rereader::next_batch`], off the
    /// async runtime.
    pub fn reread(&self) -> Result<Rereader, ReadError> {
        let (input, len) = self.source.open()?;
        if len != self.len {
            return Err(ReadError::Changed(self.source.describe()));
        }
        let mut ignored = Vec::new();
        let scanner = Scanner::open(File::Transactions, input, Some(self.hash_before.clone()), &mut ignored)
            .map_err(|e| self.source.io_error(e))?;
        Ok(Rereader {
            scanner,
            source: self.source.clone(),
            len,
            hash_after: self.hash_after.clone(),
            repeats: Arc::clone(&self.repeats),
            first_lines: HashMap::new(),
            done: false,
        })
    }
}

/// The second reading of `transactions.csv`.
pub struct Rereader {
    scanner: Scanner<Box<dyn Read + Send>>,
    source: Source,
    len: u64,
    hash_after: Vec<u8>,
    repeats: Arc<HashSet<u64>>,
    /// The line of the first valid row of each id in `repeats`.
    first_lines: HashMap<String, u64>,
    done: bool,
}

impl Rereader {
    /// The next valid rows, up to `max`; `None` after the last. At the end, fails with
    /// [`ReadError::Changed`] if the bytes were not those of the first reading.
    pub fn next_batch(&mut self, max: usize) -> Result<Option<Batch>, ReadError> {
        if self.done {
            return Ok(None);
        }
        let mut batch = Batch { rows: Vec::with_capacity(max), ..Batch::default() };
        while batch.rows.len() < max {
            let line = match self.scanner.next().map_err(|e| self.source.io_error(e))? {
                Step::End => {
                    self.done = true;
                    self.finish()?;
                    break;
                }
                Step::Skip | Step::Unreadable(_) => {
                    batch.read += 1;
                    continue;
                }
                Step::Row(line) => line,
            };
            batch.read += 1;
            let Ok(row) = transaction_record(&self.scanner, line) else { continue };
            let hash = id_hash(&row.transaction_id);
            if self.repeats.contains(&hash) {
                if let Some(first) = self.first_lines.get(&row.transaction_id) {
                    let column = self.scanner.column_of("transaction_id");
                    batch.errors.push(RowError {
                        file: File::Transactions.name().to_owned(),
                        line,
                        column,
                        field: "transaction_id".into(),
                        reason: format!("{} is also on line {first}", row.transaction_id),
                    });
                    continue;
                }
                self.first_lines.insert(row.transaction_id.clone(), line);
            }
            batch.rows.push(Rec { line, row });
        }
        if batch.read == 0 && batch.rows.is_empty() { Ok(None) } else { Ok(Some(batch)) }
    }

    fn finish(&mut self) -> Result<(), ReadError> {
        let (bytes, hasher) = self.scanner.drain().map_err(|e| self.source.io_error(e))?;
        let same = bytes == self.len && hasher.is_some_and(|h| h.finalize().as_slice() == self.hash_after.as_slice());
        if same { Ok(()) } else { Err(ReadError::Changed(self.source.describe())) }
    }
}

/// Reads the export files in `dir` (other files are listed as ignored). `transactions.csv`
/// is streamed, not loaded.
pub fn read_dir(dir: &Path, today: NaiveDate) -> Result<Export, ReadError> {
    read_dir_with(dir, today, &NoProgress)
}

/// [`read_dir`], telling `progress` how far the reading of `transactions.csv` has got.
pub fn read_dir_with(dir: &Path, today: NaiveDate, progress: &dyn ImportProgress) -> Result<Export, ReadError> {
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
        match File::from_name(&name) {
            Some(File::Transactions) => files.push((File::Transactions, Input::Stream(Source::Path(path)))),
            Some(file) => {
                let bytes = std::fs::read(&path)
                    .map_err(|source| ReadError::Io { path: path.display().to_string(), source })?;
                files.push((file, Input::Bytes(bytes)));
            }
            None if !is_housekeeping(&name) => ignored.push(name),
            None => {}
        }
    }
    let mut export = read_inputs(&dir.display().to_string(), files, today, progress)?;
    export.ignored = ignored;
    Ok(export)
}

/// Markers and reports that the drop-folder job writes beside the data.
fn is_housekeeping(name: &str) -> bool {
    name == "READY" || name.starts_with("import-report") || name.starts_with('.')
}

/// Parses files given by name and content (names not in the format are ignored).
pub fn read_files(origin: &str, files: Vec<(String, Vec<u8>)>, today: NaiveDate) -> Result<Export, ReadError> {
    let mut inputs = Vec::new();
    let mut ignored = Vec::new();
    for (name, bytes) in files {
        match File::from_name(&name) {
            Some(File::Transactions) => {
                inputs.push((File::Transactions, Input::Stream(Source::Bytes(Arc::from(bytes)))));
            }
            Some(f) => inputs.push((f, Input::Bytes(bytes))),
            None => ignored.push(name),
        }
    }
    let mut export = read_inputs(origin, inputs, today, &NoProgress)?;
    export.ignored = ignored;
    Ok(export)
}

enum Input {
    /// Read and parsed in memory.
    Bytes(Vec<u8>),
    /// Streamed (`transactions.csv`).
    Stream(Source),
}

fn read_inputs(
    origin: &str,
    files: Vec<(File, Input)>,
    today: NaiveDate,
    progress: &dyn ImportProgress,
) -> Result<Export, ReadError> {
    // One input per file (the last given wins), in import order.
    let by_file: BTreeMap<File, Input> = files.into_iter().collect();
    if by_file.is_empty() {
        return Err(ReadError::NoFiles(origin.to_owned()));
    }
    let mut export =
        Export { origin: origin.to_owned(), present: by_file.keys().copied().collect(), ..Export::default() };
    // The hash covers the files in import order, so the streamed file is read in its place:
    // before the small files are parsed, which keeps the memory of the two apart.
    let mut hasher = Sha256::new();
    for (file, input) in &by_file {
        hasher.update(file.name().as_bytes());
        hasher.update([0u8]);
        match input {
            Input::Bytes(bytes) => {
                hasher.update((bytes.len() as u64).to_le_bytes());
                hasher.update(bytes);
            }
            Input::Stream(source) => {
                hasher = scan_transactions(&mut export, source, hasher, progress)?;
            }
        }
    }
    export.content_hash = hex::encode(hasher.finalize());
    for (file, input) in by_file {
        if let Input::Bytes(bytes) = input {
            parse_file(&mut export, file, &bytes, today);
        }
    }
    Ok(export)
}

/// Records of `transactions.csv` between reports of the first reading's progress.
const PROGRESS_EVERY: u64 = 1 << 16;

/// A 64-bit hash of a transaction id, the same for the two readings.
fn id_hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(id.as_bytes());
    h.finish()
}

/// A Bloom filter over 64-bit hashes, with three probes (double hashing).
struct Bloom {
    words: Vec<u64>,
    mask: u32,
}

impl Bloom {
    /// Sized for a file of `bytes` bytes (about two bits per byte: 32 or more per row),
    /// between 1 KiB and 256 MiB.
    fn for_bytes(bytes: u64) -> Self {
        let bits = (bytes / 4).clamp(1 << 13, 1 << 31).next_power_of_two();
        Bloom { words: vec![0; (bits / 64) as usize], mask: (bits - 1) as u32 }
    }

    /// Adds `hash`; true if it may have been added before.
    fn insert(&mut self, hash: u64) -> bool {
        let (h1, h2) = (hash as u32, ((hash >> 32) as u32) | 1);
        let mut seen = true;
        for i in 0..3u32 {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) & self.mask;
            let (word, mask) = ((bit >> 6) as usize, 1u64 << (bit & 63));
            if let Some(w) = self.words.get_mut(word)
                && *w & mask == 0
            {
                *w |= mask;
                seen = false;
            }
        }
        seen
    }
}

/// The first reading of `transactions.csv`: hashes it (continuing `hasher`) and checks every
/// row on its own, in bounded memory.
fn scan_transactions(
    export: &mut Export,
    source: &Source,
    mut hasher: Sha256,
    progress: &dyn ImportProgress,
) -> Result<Sha256, ReadError> {
    let file = File::Transactions;
    let (input, len) = source.open()?;
    progress.reading(file.name(), 0, len);
    hasher.update(len.to_le_bytes());
    let hash_before = hasher.clone();
    let mut scanner = Scanner::open(file, input, Some(hasher), &mut export.errors).map_err(|e| source.io_error(e))?;
    let mut bloom = Bloom::for_bytes(len);
    let mut repeats = HashSet::new();
    let mut valid_rows = 0u64;
    loop {
        if scanner.count % PROGRESS_EVERY == 0 {
            progress.reading(file.name(), scanner.csv.get_ref().bytes, len);
        }
        let line = match scanner.next().map_err(|e| source.io_error(e))? {
            Step::End => break,
            Step::Skip => continue,
            Step::Unreadable(e) => {
                export.errors.push(e);
                continue;
            }
            Step::Row(line) => line,
        };
        match transaction_record(&scanner, line) {
            Ok(row) => {
                valid_rows += 1;
                let hash = id_hash(&row.transaction_id);
                if bloom.insert(hash) {
                    repeats.insert(hash);
                }
            }
            Err(mut errors) => export.errors.append(&mut errors),
        }
    }
    drop(bloom);
    progress.reading(file.name(), len, len);
    export.rows.insert(file, scanner.count);
    if let Some(h) = &scanner.header {
        export.positions.insert(file, h.positions.clone());
    }
    let (bytes, hasher) = scanner.drain().map_err(|e| source.io_error(e))?;
    let hasher = hasher.ok_or_else(|| ReadError::Changed(source.describe()))?;
    if bytes != len {
        return Err(ReadError::Changed(source.describe()));
    }
    export.transactions = Some(TransactionsFile {
        source: source.clone(),
        valid_rows,
        len,
        hash_before,
        hash_after: hasher.clone().finalize().to_vec(),
        repeats: Arc::new(repeats),
    });
    Ok(hasher)
}

/// A transaction record checked on its own (in both readings, so both agree on which rows
/// are valid).
fn transaction_record<R: Read>(scanner: &Scanner<R>, line: u64) -> Result<TransactionIn, Vec<RowError>> {
    let Some(header) = &scanner.header else { return Err(Vec::new()) };
    let mut f = scanner.fields(header, line);
    if scanner.record.len() != header.names.len() {
        width_error(&mut f, &header.names);
        return Err(f.errors);
    }
    match parse_transaction(&mut f) {
        Some(row) if f.errors.is_empty() => Ok(row),
        _ => Err(f.errors),
    }
}

/// Reads bytes for the CSV reader: hashes them, drops a leading byte-order mark, and notes
/// where the line breaks are, so that records get their line numbers without the file being
/// kept.
struct Tap<R> {
    inner: R,
    hasher: Option<Sha256>,
    /// Bytes read from `inner`, byte-order mark included.
    bytes: u64,
    /// The first bytes, read ahead to look for a byte-order mark, not yet handed on.
    head: Option<Vec<u8>>,
    /// Offset (after the byte-order mark) of the next byte handed on.
    offset: u64,
    /// Line breaks handed on at or after the last offset asked about: (offset, is `\n`).
    breaks: VecDeque<(u64, bool)>,
    /// `\n`s handed on before the first of `breaks`.
    newlines_before: u64,
}

impl<R: Read> Tap<R> {
    fn new(inner: R, hasher: Option<Sha256>) -> Self {
        Tap { inner, hasher, bytes: 0, head: None, offset: 0, breaks: VecDeque::new(), newlines_before: 0 }
    }

    fn read_raw(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }

    /// The 1-based line of the first byte at or after `offset` that is not a line break
    /// (the CSV reader's position is before any blank lines it skips). Offsets asked about
    /// must not decrease.
    fn line_at(&mut self, offset: u64) -> u64 {
        while let Some(&(at, newline)) = self.breaks.front() {
            if at >= offset {
                break;
            }
            self.newlines_before += u64::from(newline);
            self.breaks.pop_front();
        }
        let mut line = self.newlines_before + 1;
        for (next, &(at, newline)) in (offset..).zip(self.breaks.iter()) {
            if at != next {
                break;
            }
            line += u64::from(newline);
        }
        line
    }
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.head.is_none() {
            let mut head = [0u8; 3];
            let mut got = 0;
            while got < head.len() {
                let n = self.read_raw(&mut head[got..])?;
                if n == 0 {
                    break;
                }
                got += n;
            }
            let head = &head[..got];
            self.head = Some(if head == b"\xEF\xBB\xBF" { Vec::new() } else { head.to_vec() });
        }
        let n = match &mut self.head {
            Some(head) if !head.is_empty() => {
                let n = head.len().min(buf.len());
                buf[..n].copy_from_slice(&head[..n]);
                head.drain(..n);
                n
            }
            _ => self.read_raw(buf)?,
        };
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                self.breaks.push_back((self.offset + i as u64, b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// A file's header row, checked.
struct Header {
    /// For each column of the format, its position in the header (if present).
    positions: HashMap<&'static str, usize>,
    /// The header's fields as written, for messages.
    names: Vec<String>,
    /// False if the header has errors: then no row of the file is read.
    ok: bool,
}

fn check_header(file: File, header: &ByteRecord, errors: &mut Vec<RowError>) -> Header {
    let header_error = |column: usize, reason: String| RowError {
        file: file.name().to_owned(),
        line: 1,
        column,
        field: "header".into(),
        reason,
    };
    let columns: &[Column] = file.columns();
    let mut positions: HashMap<&'static str, usize> = HashMap::new();
    let mut ok = true;
    for (i, raw) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(raw).trim().to_ascii_lowercase();
        match columns.iter().find(|c| c.name == name) {
            Some(c) => {
                if positions.insert(c.name, i).is_some() {
                    errors.push(header_error(i + 1, format!("column {name:?} appears twice")));
                    ok = false;
                }
            }
            None => {
                errors.push(header_error(
                    i + 1,
                    format!(
                        "unknown column {name:?}; the columns of {} are: {}",
                        file.name(),
                        columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                    ),
                ));
                ok = false;
            }
        }
    }
    for c in columns.iter().filter(|c| c.required) {
        if !positions.contains_key(c.name) {
            errors.push(header_error(1, format!("required column {:?} is missing", c.name)));
            ok = false;
        }
    }
    let names = header.iter().map(|h| String::from_utf8_lossy(h).into_owned()).collect();
    Header { positions, names, ok }
}

/// What the next record of a file is.
enum Step {
    End,
    /// A record, in `Scanner::record`, that starts on this line.
    Row(u64),
    /// A record of a file whose header has errors (counted, not read).
    Skip,
    /// A record that cannot be split into fields.
    Unreadable(RowError),
}

/// Reads a file's records one at a time, with their line numbers.
struct Scanner<R> {
    file: File,
    csv: csv::Reader<Tap<R>>,
    record: ByteRecord,
    /// `None` if the file is empty or its header cannot be read: then it has no rows.
    header: Option<Header>,
    /// Data records read so far.
    count: u64,
}

impl<R: Read> Scanner<R> {
    /// Opens `input` and reads its header (errors in it go to `errors`). `hasher`, if
    /// given, is fed every byte read.
    fn open(file: File, input: R, hasher: Option<Sha256>, errors: &mut Vec<RowError>) -> std::io::Result<Self> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(Tap::new(input, hasher));
        let mut record = ByteRecord::new();
        let header_error = |reason: String| RowError {
            file: file.name().to_owned(),
            line: 1,
            column: 1,
            field: "header".into(),
            reason,
        };
        let header = match csv.read_byte_record(&mut record) {
            Ok(true) => Some(check_header(file, &record, errors)),
            Ok(false) => {
                errors.push(header_error("the file is empty; a header row naming the columns is required".into()));
                None
            }
            Err(e) if e.is_io_error() => return Err(std::io::Error::other(e)),
            Err(e) => {
                errors.push(header_error(format!("cannot be read as CSV: {e}")));
                None
            }
        };
        Ok(Scanner { file, csv, record: ByteRecord::new(), header, count: 0 })
    }

    fn next(&mut self) -> std::io::Result<Step> {
        if self.header.is_none() {
            return Ok(Step::End);
        }
        match self.csv.read_byte_record(&mut self.record) {
            Ok(false) => Ok(Step::End),
            Ok(true) => {
                self.count += 1;
                let line = self.record.position().map_or(1, |p| self.csv.get_mut().line_at(p.byte()));
                Ok(if self.header.as_ref().is_some_and(|h| h.ok) { Step::Row(line) } else { Step::Skip })
            }
            Err(e) if e.is_io_error() => Err(std::io::Error::other(e)),
            Err(e) => {
                self.count += 1;
                let line = e.position().map_or(1, |p| self.csv.get_mut().line_at(p.byte()));
                Ok(Step::Unreadable(RowError {
                    file: self.file.name().to_owned(),
                    line,
                    column: 1,
                    field: "row".into(),
                    reason: format!("cannot be read as CSV: {e}"),
                }))
            }
        }
    }

    fn fields<'a>(&'a self, header: &'a Header, line: u64) -> Fields<'a> {
        Fields { file: self.file, line, positions: &header.positions, record: &self.record, errors: Vec::new() }
    }

    fn column_of(&self, name: &str) -> usize {
        self.header.as_ref().and_then(|h| h.positions.get(name)).map_or(1, |p| p + 1)
    }

    /// Reads whatever the CSV reader left (so that the hash covers every byte); returns the
    /// bytes read in all and the hasher.
    fn drain(&mut self) -> std::io::Result<(u64, Option<Sha256>)> {
        let tap = self.csv.get_mut();
        let mut buf = vec![0u8; 1 << 16];
        while tap.read(&mut buf)? > 0 {
            tap.breaks.clear();
        }
        Ok((tap.bytes, tap.hasher.take()))
    }
}

/// Records a row with the wrong number of fields.
fn width_error(f: &mut Fields<'_>, names: &[String]) {
    let width = names.len();
    let len = f.record.len();
    let column = len.min(width) + 1;
    let field = names.get(column - 1).cloned().unwrap_or_else(|| "row".to_owned());
    f.error(column, if len > width { "row" } else { &field }, format!("has {len} fields; the header has {width}"));
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

/// Parses one of the small files, held in memory, into `export`.
fn parse_file(export: &mut Export, file: File, bytes: &[u8], today: NaiveDate) {
    let unreadable = |e: std::io::Error| RowError {
        file: file.name().to_owned(),
        line: 1,
        column: 1,
        field: "row".into(),
        reason: format!("cannot be read: {e}"),
    };
    let mut scanner = match Scanner::open(file, bytes, None, &mut export.errors) {
        Ok(s) => s,
        Err(e) => {
            export.errors.push(unreadable(e));
            return;
        }
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut seen_numbers: HashMap<String, u64> = HashMap::new();
    let mut seen_uprns: HashMap<i64, u64> = HashMap::new();
    let mut leads: HashMap<String, u64> = HashMap::new();
    loop {
        let line = match scanner.next() {
            Ok(Step::End) => break,
            Ok(Step::Skip) => continue,
            Ok(Step::Unreadable(e)) => {
                export.errors.push(e);
                continue;
            }
            Ok(Step::Row(line)) => line,
            Err(e) => {
                export.errors.push(unreadable(e));
                break;
            }
        };
        let Some(header) = &scanner.header else { break };
        let mut f = scanner.fields(header, line);
        if scanner.record.len() != header.names.len() {
            width_error(&mut f, &header.names);
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
            // Streamed instead (`scan_transactions`).
            File::Transactions => None,
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
            Parsed::Work(row) => export.works.push(Rec { line, row }),
        }
    }
    export.rows.insert(file, scanner.count);
    if let Some(h) = scanner.header {
        export.positions.insert(file, h.positions);
    }
}

enum Parsed {
    Property(PropertyIn),
    Person(PersonIn),
    Tenancy(TenancyIn),
    Member(MemberIn),
    Account(AccountIn),
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

    /// Reads the files as the importer does: the first reading, then (for transactions.csv)
    /// the second, whose errors (repeated ids) join the first's.
    fn read_many(files: Vec<(&str, &[u8])>, batch: usize) -> (Export, Vec<Rec<TransactionIn>>) {
        let files = files.into_iter().map(|(n, b)| (n.to_owned(), b.to_vec())).collect();
        let mut e = read_files("test", files, today()).unwrap();
        let mut rows = Vec::new();
        if let Some(t) = &e.transactions {
            let mut r = t.reread().unwrap();
            while let Some(b) = r.next_batch(batch).unwrap() {
                assert!(b.rows.len() <= batch);
                rows.extend(b.rows);
                e.errors.extend(b.errors);
            }
        }
        (e, rows)
    }

    fn read(name: &str, text: &[u8]) -> Export {
        read_many(vec![(name, text)], 1000).0
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
        let (e, rows) = read_many(vec![("transactions.csv", text.as_bytes())], 1000);
        assert_eq!(
            located(&e),
            vec!["transactions.csv:3:3: date", "transactions.csv:5:5: amount", "transactions.csv:6:1: transaction_id"]
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(e.transactions.as_ref().unwrap().valid_rows, 2, "the repeat is found by the second reading");
        assert_eq!(e.rows[&File::Transactions], 4);
        assert!(e.errors[1].reason.contains("wrong sign"), "{}", e.errors[1].reason);
        assert_eq!(e.errors[2].reason, "T1 is also on line 2");
    }

    #[test]
    fn repeated_ids_are_found_across_batches_and_the_first_valid_row_wins() {
        let mut text = TX_HEADER.to_owned();
        for i in 0..500 {
            text.push_str(&format!("T{i},A1,2025-01-06,charge,1.00,,\n"));
        }
        // A repeat of an invalid row is not a repeat; repeats of valid ones are, each naming
        // the first line.
        text.push_str("X1,A1,2025-01-06,charge,-1.00,,\nX1,A1,2025-01-06,charge,1.00,,\n");
        text.push_str(
            "T7,A1,2025-01-06,charge,1.00,,\nT499,A2,2025-01-07,charge,2.00,,\nT7,A1,2025-01-06,charge,1.00,,\n",
        );
        let (e, rows) = read_many(vec![("transactions.csv", text.as_bytes())], 64);
        let shown: Vec<String> = e.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "transactions.csv:502:5: amount: -£1.00 has the wrong sign for a charge: a charge must be positive (it adds to what the tenant owes)",
                "transactions.csv:504:1: transaction_id: T7 is also on line 9",
                "transactions.csv:505:1: transaction_id: T499 is also on line 501",
                "transactions.csv:506:1: transaction_id: T7 is also on line 9",
            ]
        );
        assert_eq!(rows.len(), 501);
        assert_eq!(rows.last().unwrap().line, 503);
        assert!(rows.windows(2).all(|w| w[0].line < w[1].line), "file order");
    }

    #[test]
    fn the_content_hash_is_over_names_lengths_and_bytes_in_import_order() {
        let tx = format!("{TX_HEADER}T1,A1,2025-01-06,charge,95.00,,Rent\n");
        let people =
            b"\xEF\xBB\xBFperson_ref,organisation,forename,surname\r\nP1,calder-riverside,Ann,Lee\r\n".to_vec();
        let works = b"work_ref,property_ref,category,description,planned_start,status\n".to_vec();
        let (e, _) = read_many(
            vec![("planned_work.csv", &works), ("transactions.csv", tx.as_bytes()), ("people.csv", &people)],
            10,
        );
        let mut h = Sha256::new();
        for (name, bytes) in
            [("people.csv", &people[..]), ("transactions.csv", tx.as_bytes()), ("planned_work.csv", &works)]
        {
            h.update(name.as_bytes());
            h.update([0u8]);
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        assert_eq!(e.content_hash, hex::encode(h.finalize()));
        assert_eq!(e.present, [File::People, File::Transactions, File::PlannedWork]);
    }

    #[test]
    fn a_file_changed_between_the_readings_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("transactions.csv");
        let text = format!("{TX_HEADER}T1,A1,2025-01-06,charge,95.00,,Rent\nT2,A1,2025-01-06,charge,95.00,,Rent\n");
        std::fs::write(&path, &text).unwrap();
        let e = read_dir(dir.path(), today()).unwrap();
        let t = e.transactions.as_ref().unwrap();
        assert!(matches!(t.source, Source::Path(_)));
        // Same length, other bytes.
        std::fs::write(&path, text.replace("95.00", "96.00")).unwrap();
        let mut r = t.reread().unwrap();
        let mut result = Ok(None);
        for _ in 0..10 {
            result = r.next_batch(1);
            if !matches!(result, Ok(Some(_))) {
                break;
            }
        }
        assert!(matches!(result, Err(ReadError::Changed(_))), "{result:?}");
        // Another length is noticed at once.
        std::fs::write(&path, format!("{text}T3,A1,2025-01-06,charge,95.00,,Rent\n")).unwrap();
        assert!(matches!(t.reread(), Err(ReadError::Changed(_))));
        // The same bytes again read fine.
        std::fs::write(&path, &text).unwrap();
        let mut r = t.reread().unwrap();
        assert_eq!(r.next_batch(10).unwrap().unwrap().rows.len(), 2);
        assert!(r.next_batch(10).unwrap().is_none());
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
        let (e, rows) = read_many(vec![("transactions.csv", b"transaction_id,account\nT1,A1\n")], 10);
        assert!(rows.is_empty());
        assert_eq!(e.rows[&File::Transactions], 1);
        assert_eq!(e.transactions.unwrap().valid_rows, 0);
    }

    #[test]
    fn a_byte_order_mark_and_crlf_are_fine() {
        let e = read("tenancy_members.csv", b"\xEF\xBB\xBFtenancy_ref,person_ref,role\r\nT1,P1,lead\r\nT1,P2,lead\r\n");
        assert_eq!(located(&e), vec!["tenancy_members.csv:3:3: role"]);
        let text = format!(
            "\u{feff}{}",
            format!("{TX_HEADER}\r\nT1,A1,2025-01-06,charge,95.00,,\r\n\r\n\r\nT2,A1,x,charge,1.00,,\r\n")
                .replace('\n', "\r\n")
        );
        let (e, rows) = read_many(vec![("transactions.csv", text.as_bytes())], 10);
        assert_eq!(located(&e), vec!["transactions.csv:6:3: date"]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 3);
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

    #[test]
    fn the_bloom_filter_has_no_false_negatives() {
        // A file of 1 MiB gets 2^18 bits.
        let mut b = Bloom::for_bytes(1 << 20);
        assert_eq!(b.words.len() * 64, 1 << 18);
        let hashes: Vec<u64> = (0..2000u64).map(|i| id_hash(&format!("T{i}"))).collect();
        let first: usize = hashes.iter().filter(|h| b.insert(**h)).count();
        assert!(first < 3, "{first} false positives among 2000 in 2^18 bits");
        assert!(hashes.iter().all(|h| b.insert(*h)));
    }

    /// The line numbers of the whole-file reader this module had before streaming.
    fn lines_reference(bytes: &[u8], mut offset: usize) -> u64 {
        while offset < bytes.len() && matches!(bytes[offset], b'\n' | b'\r') {
            offset += 1;
        }
        bytes[..offset.min(bytes.len())].iter().filter(|b| **b == b'\n').count() as u64 + 1
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

        #[test]
        fn streamed_line_numbers_match_the_whole_file(
            parts in proptest::collection::vec(prop_oneof![
                Just("\n"), Just("\r\n"), Just("\r"), Just("\"q\nq\""), Just("a"), Just(","), Just("\"\"")
            ], 0..60),
            bom in any::<bool>(),
        ) {
            let body: String = parts.concat();
            let text = format!("{}h1,h2\n{body}", if bom { "\u{feff}" } else { "" });
            let stripped = text.as_bytes().strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text.as_bytes());
            let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(8)
                .from_reader(Tap::new(text.as_bytes(), None));
            let mut record = ByteRecord::new();
            while csv.read_byte_record(&mut record).unwrap() {
                let p = record.position().unwrap().byte();
                prop_assert_eq!(csv.get_mut().line_at(p), lines_reference(stripped, p as usize));
            }
        }
    }
}
