#![no_main]
//! The server's own header parsers: Accept negotiation (with ?format=), Range, Authorization,
//! and the error answer that copies a message into the reason phrase.
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mid = (0..=text.len() / 2)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let (a, b) = text.split_at(mid);
    let _ = picket_server::negotiate::choose(Some(a), Some(b));
    let _ = picket_server::negotiate::choose(Some(&text), None);
    let _ = picket_server::files::parse_range(&text);
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value);
        let _ = picket_server::auth::credential(&headers);
    }
    let _ = picket_server::error::ApiError::bad_request(text.into_owned()).into_response();
});
