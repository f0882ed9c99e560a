//! One module per page; each is a route in `lib.rs`.

mod home;
mod my_place;
mod not_found;
mod register;
mod sections;
mod sign_in;
mod staff;

pub use home::Home;
pub use my_place::MyPlace;
pub use not_found::NotFound;
pub use register::{Activate, Register};
pub use sections::{MyMaps, MyNearest};
pub use sign_in::SignIn;
pub use staff::StaffRegistrations;
