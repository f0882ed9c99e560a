//! The parts every page shares: the branded shell, its header and footer, page headings,
//! form fields, and the guard in front of signed-in pages.

pub mod footer;
pub mod form;
pub mod guard;
pub mod header;
pub mod ledger;
pub mod page;
pub mod shell;
pub mod switcher;
