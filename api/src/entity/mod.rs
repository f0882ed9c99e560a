//! sea-orm entities, one per table. They mirror `migrations/`; domain code turns them into
//! domain types and DTOs.

pub mod api_key;
pub mod app_user;
pub mod audit_event;
pub mod housing_officer;
pub mod identity_link;
pub mod import_run;
pub mod ledger_entry;
pub mod organisation;
pub mod outbox;
pub mod payment_intent;
pub mod person;
pub mod planned_work;
pub mod property;
pub mod property_feature;
pub mod provider_event;
pub mod reconciliation_item;
pub mod reconciliation_run;
pub mod refresh_token;
pub mod registration;
pub mod rent_account;
pub mod rent_free_week;
pub mod signing_key;
pub mod suspense_payment;
pub mod tenancy;
pub mod tenancy_member;
