//! Integration tests of the `doorstep` library: one binary, one module per area. Every test
//! that touches the database runs against SQLite or PostgreSQL as `DOORSTEP_TEST_DB` says
//! (`just test` runs the suite once for each).

mod contracts;
mod fixtures;
mod http_basics;
mod ledger;
mod organisations;
mod support;
