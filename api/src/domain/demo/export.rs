//! The demo written as a housing management system export (`seed-demo --export-hms DIR`),
//! in the format `doorstep import` reads: a large, valid import set for benchmarks. Import
//! it into a database that has the demo landlords but none of their homes
//! (`seed-demo --scale 0`).

use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstep_shared::Money;

use super::generate::{
    AccountRow, EntryRow, FeatureRow, Generator, IdBase, MemberRow, PersonRow, Plan, PropertyRow, Sink, TenancyRow,
    WorkRow,
};
use super::{Progress, SeedOptions};
use crate::domain::hms::File;
use crate::domain::ledger::bulk::BulkError;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("writing {path}: {source}")]
    Csv { path: String, source: csv::Error },
    #[error(transparent)]
    Ledger(#[from] BulkError),
}

#[derive(Debug, Clone)]
pub struct ExportReport {
    pub rows: Vec<(&'static str, u64)>,
    pub bytes: u64,
    pub elapsed: Duration,
}

type Writer = csv::Writer<BufWriter<std::fs::File>>;

struct CsvSink {
    writers: Vec<(File, Writer, u64)>,
    account: String,
    error: Option<csv::Error>,
}

impl CsvSink {
    fn write(&mut self, file: File, record: &[&str]) {
        if self.error.is_some() {
            return;
        }
        let Some((_, w, n)) = self.writers.iter_mut().find(|(f, _, _)| *f == file) else { return };
        *n += 1;
        if let Err(e) = w.write_record(record) {
            self.error = Some(e);
        }
    }
}

fn pounds(m: Money) -> String {
    let p = m.pence();
    format!("{}{}.{:02}", if p < 0 { "-" } else { "" }, p.unsigned_abs() / 100, p.unsigned_abs() % 100)
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

impl Sink for CsvSink {
    fn property(&mut self, p: PropertyRow) {
        let row = [
            p.hms_ref,
            p.organisation.to_owned(),
            p.uprn.to_string(),
            p.address_line1,
            opt(&p.address_line2),
            p.town.to_owned(),
            p.postcode,
            format!("{:.6}", p.latitude),
            format!("{:.6}", p.longitude),
            p.easting.to_string(),
            p.northing.to_string(),
            p.kind.to_owned(),
            opt(&p.bedrooms),
            p.patch,
        ];
        self.write(File::Properties, &row.iter().map(String::as_str).collect::<Vec<_>>());
    }

    fn feature(&mut self, _f: FeatureRow) {}

    fn person(&mut self, p: PersonRow) {
        let row = [
            p.hms_ref,
            p.organisation.to_owned(),
            opt(&p.title),
            p.forename.to_owned(),
            p.surname.to_owned(),
            p.date_of_birth.to_string(),
            opt(&p.email),
            opt(&p.phone),
        ];
        self.write(File::People, &row.iter().map(String::as_str).collect::<Vec<_>>());
    }

    fn tenancy(&mut self, t: TenancyRow) {
        let row = [t.hms_ref, t.property_ref, t.tenure.to_owned(), t.start_date.to_string(), opt(&t.end_date)];
        self.write(File::Tenancies, &row.iter().map(String::as_str).collect::<Vec<_>>());
    }

    fn member(&mut self, m: MemberRow) {
        self.write(File::TenancyMembers, &[&m.tenancy_ref, &m.person_ref, m.role]);
    }

    fn account(&mut self, a: &AccountRow) {
        let row = [
            a.hms_ref.clone(),
            a.account_number.clone(),
            a.tenancy_ref.clone(),
            a.kind.to_owned(),
            pounds(Money::from_pence(a.weekly_charge_pence)),
            a.opened_on.to_string(),
            opt(&a.closed_on),
        ];
        self.write(File::Accounts, &row.iter().map(String::as_str).collect::<Vec<_>>());
    }

    fn work(&mut self, w: WorkRow) {
        let row = [
            w.hms_ref,
            w.property_ref,
            w.category.to_owned(),
            w.description.to_owned(),
            w.planned_start.to_string(),
            opt(&w.planned_end),
            w.status.to_owned(),
            opt(&w.contractor),
        ];
        self.write(File::PlannedWork, &row.iter().map(String::as_str).collect::<Vec<_>>());
    }

    fn begin_history(&mut self, account: &AccountRow) {
        self.account.clone_from(&account.hms_ref);
    }

    fn entry(&mut self, e: &EntryRow<'_>) -> Result<(), BulkError> {
        let account = std::mem::take(&mut self.account);
        let id = format!("HMS-{}", e.source_ref);
        let row = [
            id.as_str(),
            account.as_str(),
            &e.effective_date.to_string(),
            e.kind.as_str(),
            &pounds(e.amount),
            e.channel.map_or("", |c| c.as_str()),
            e.description,
        ];
        self.write(File::Transactions, &row);
        self.account = account;
        Ok(())
    }
}

/// Writes the demo for `opts` as export files in `dir` (created if missing).
pub fn export_hms(dir: &Path, opts: &SeedOptions, progress: &dyn Progress) -> Result<ExportReport, ExportError> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io { path: dir.display().to_string(), source })?;
    let mut writers = Vec::new();
    for file in File::ALL {
        let path = dir.join(file.name());
        let f = std::fs::File::create(&path)
            .map_err(|source| ExportError::Io { path: path.display().to_string(), source })?;
        let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, f));
        w.write_record(file.columns().iter().map(|c| c.name))
            .map_err(|source| ExportError::Csv { path: path.display().to_string(), source })?;
        writers.push((file, w, 0));
    }
    let mut sink = CsvSink { writers, account: String::new(), error: None };
    let today = opts.today.unwrap_or_else(|| Utc::now().date_naive());
    let mut generator =
        Generator::new(Plan { seed: opts.seed, scale: opts.scale, years: opts.years, today }, IdBase::fresh());
    progress.start(opts.scale as u64);
    while !generator.is_done() {
        generator.fill(&mut sink, 500)?;
        let rows = sink.writers.iter().map(|(_, _, n)| n).sum();
        progress.advance(generator.done() as u64, rows);
        if let Some(source) = sink.error.take() {
            return Err(ExportError::Csv { path: dir.display().to_string(), source });
        }
    }
    progress.finish();
    let mut rows = Vec::new();
    let mut bytes = 0;
    for (file, mut w, n) in sink.writers {
        let path = dir.join(file.name());
        w.flush().map_err(|source| ExportError::Io { path: path.display().to_string(), source })?;
        drop(w);
        bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        rows.push((file.name(), n));
    }
    Ok(ExportReport { rows, bytes, elapsed: started.elapsed() })
}
