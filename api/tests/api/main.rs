//! Integration tests of the `doorstep` library: one binary, one module per area. Every test
//! that touches the database runs against SQLite or PostgreSQL as `DOORSTEP_TEST_DB` says
//! (`just test` runs the suite once for each).

mod accounts;
mod authz_matrix;
mod bench_baseline;
mod contracts;
mod fixtures;
mod http_basics;
mod identity_api_keys;
mod identity_graphql;
mod identity_journey;
mod identity_login;
mod identity_support;
mod identity_tokens;
mod import;
mod ledger;
mod oidc;
mod organisations;
mod payments;
mod payments_live;
mod reconciliation;
mod reliability;
mod sandbox;
mod seed;
mod staff_tenants;
mod support;
