//! Dates and times as people in the UK read them. The API sends ISO 8601 in UTC; business
//! dates (`YYYY-MM-DD`) are shown as they are, moments in time in Europe/London.

use web_sys::js_sys::{Date, Object, Reflect};
use web_sys::wasm_bindgen::JsValue;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `2026-03-07` → `7 March 2026`; anything else is returned as it came.
pub fn day(iso_date: &str) -> String {
    let date = iso_date.get(..10).unwrap_or(iso_date);
    let mut parts = date.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return iso_date.to_owned();
    };
    match (y.parse::<u32>(), m.parse::<usize>(), d.parse::<u32>()) {
        (Ok(y), Ok(m @ 1..=12), Ok(d @ 1..=31)) => format!("{d} {} {y}", MONTHS[m - 1]),
        _ => iso_date.to_owned(),
    }
}

/// A moment (`2026-03-07T09:15:00Z`) as `7 March 2026, 09:15` in London time.
pub fn moment(iso: &str) -> String {
    let date = Date::new(&JsValue::from_str(iso));
    if date.get_time().is_nan() {
        return iso.to_owned();
    }
    let options = Object::new();
    for (key, value) in [
        ("timeZone", "Europe/London"),
        ("day", "numeric"),
        ("month", "long"),
        ("year", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
    ] {
        let _ = Reflect::set(&options, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    date.to_locale_string("en-GB", &options).as_string().unwrap_or_else(|| iso.to_owned())
}

/// Today in UTC as `YYYY-MM-DD`: the day the API files a letter under when staff validate.
pub fn today_utc() -> String {
    let iso: String = Date::new_0().to_iso_string().into();
    iso.chars().take(10).collect()
}

/// A business date as `7 March 2026`.
pub fn date(d: chrono::NaiveDate) -> String {
    day(&d.to_string())
}

/// Today (UTC) as a date, for date pickers and the financial year. The browser's clock is
/// read through JavaScript: chrono's own clock does not work in WebAssembly.
pub fn today() -> chrono::NaiveDate {
    parse_input(&today_utc()).unwrap_or_default()
}

/// A date as a date input gives it (`YYYY-MM-DD`); `None` when it is empty or not a date.
/// (Read by hand: chrono's format-string parser would add its whole machinery to the wasm.)
pub fn parse_input(text: &str) -> Option<chrono::NaiveDate> {
    let mut parts = text.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> f64 {
    Date::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_dates_read_naturally() {
        assert_eq!(day("2026-03-07"), "7 March 2026");
        assert_eq!(day("2026-12-25T10:00:00Z"), "25 December 2026");
        assert_eq!(day("soon"), "soon");
        assert_eq!(parse_input(" 2026-03-07 "), chrono::NaiveDate::from_ymd_opt(2026, 3, 7));
        for bad in ["", "2026-3-7", "2026-02-30", "07/03/2026", "2026-03-07-01"] {
            assert_eq!(parse_input(bad), None, "{bad}");
        }
    }
}
