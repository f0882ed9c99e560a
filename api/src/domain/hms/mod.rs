//! Imports from the landlord's housing management system (HMS): a folder of CSV files, one
//! per entity (`docs/import-format.md`). [`read`] parses the files without the database
//! (streaming `transactions.csv`, which may be gigabytes, instead of loading it);
//! [`import`] checks the rows against the database and applies them in one transaction.

pub mod format;
pub mod import;
pub mod read;

pub use format::{File, RowError};
pub use import::{
    DEFER_INDEXES_FROM, ImportError, ImportOptions, ImportProgress, ImportReport, IndexMode, NoProgress, Outcome,
    import,
};
pub use read::{Batch, Export, ReadError, Rereader, Source, TransactionsFile, read_dir, read_dir_with, read_files};
