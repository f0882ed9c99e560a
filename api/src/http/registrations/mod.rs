//! A tenant registers: the request, then activation with the PIN from the letter.

pub mod activate;
pub mod create;
