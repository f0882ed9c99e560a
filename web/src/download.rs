//! Files behind the access token (PIN letters, statements) handed to the browser as
//! downloads. A plain link cannot carry the token, which lives only in this page's memory, so
//! the page fetches the bytes itself and saves them through an object URL.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::js_sys::{Array, Uint8Array};

use leptos::prelude::*;

/// Saves `bytes` as a download called `filename`.
pub fn save_file(bytes: &[u8], filename: &str) -> Result<(), JsValue> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let link: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    link.set_href(&url);
    link.set_download(filename);
    link.set_hidden(true);
    let body = document().body().ok_or_else(|| JsValue::from_str("no body"))?;
    body.append_child(&link)?;
    link.click();
    link.remove();
    // Give the browser time to start the download before letting go of the file.
    set_timeout(move || drop(web_sys::Url::revoke_object_url(&url)), std::time::Duration::from_secs(60));
    Ok(())
}
