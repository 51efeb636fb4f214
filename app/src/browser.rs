//! Browser-only helpers (`hydrate`): calls the plain JSON routes that server
//! functions do not cover, such as multipart uploads.

use crate::error::{AppError, ErrorCode};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Posts a form (e.g. a file upload) to a session route and turns an error
/// answer into the API's error.
pub async fn post_form(url: &str, form: &web_sys::HtmlFormElement) -> Result<(), AppError> {
    let failed = |what: &str| AppError::new(ErrorCode::Internal, format!("the upload could not be sent: {what}"));
    let data = web_sys::FormData::new_with_form(form).map_err(|_| failed("the form could not be read"))?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&data);
    let window = web_sys::window().ok_or_else(|| failed("no window"))?;
    let response =
        JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(|_| failed("network error"))?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| failed("no response"))?;
    if response.ok() {
        return Ok(());
    }
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|v| v.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: AppError,
    }
    Err(serde_json::from_str::<Envelope>(&text)
        .map(|e| e.error)
        .unwrap_or_else(|_| failed(&format!("the server answered {}", response.status()))))
}
