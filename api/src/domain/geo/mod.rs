//! Places: coordinates and conversions between British National Grid and WGS84.

pub mod bng;

pub use bng::{GridRef, LatLon, bng_to_wgs84, wgs84_to_bng};
