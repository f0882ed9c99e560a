//! The parts every page shares: the branded shell, its header and footer, and page headings.

pub mod footer;
pub mod header;
pub mod page;
pub mod shell;
pub mod switcher;
