//! One module per page; each is a route in `lib.rs`.

mod home;
mod not_found;
mod sections;
mod sign_in;

pub use home::Home;
pub use not_found::NotFound;
pub use sections::{MyMaps, MyNearest, MyPlace};
pub use sign_in::{Register, SignIn};
