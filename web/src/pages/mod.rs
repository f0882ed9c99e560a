//! One module per page; each is a route in `lib.rs`.

mod accounts;
mod home;
mod my_place;
mod not_found;
mod pay;
mod register;
mod sections;
mod sign_in;
mod staff;
mod staff_payments;
mod staff_reconciliation;
mod staff_tenants;

pub use accounts::{MyAccount, MyStatement};
pub use home::Home;
pub use my_place::MyPlace;
pub use not_found::NotFound;
pub use pay::{PayRent, PaymentDone};
pub use register::{Activate, Register};
pub use sections::{MyMaps, MyNearest};
pub use sign_in::SignIn;
pub use staff::StaffRegistrations;
pub use staff_payments::{StaffPayments, StaffSuspense};
pub use staff_reconciliation::{StaffReconciliationRun, StaffReconciliationRuns};
pub use staff_tenants::{StaffTenant, StaffTenants};
