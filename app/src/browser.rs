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

/// GETs a session route as text (e.g. a terminal recording).
pub async fn fetch_text(url: &str) -> Result<String, AppError> {
    let failed = |what: &str| AppError::new(ErrorCode::Internal, format!("{url} could not be read: {what}"));
    let window = web_sys::window().ok_or_else(|| failed("no window"))?;
    let response = JsFuture::from(window.fetch_with_str(url)).await.map_err(|_| failed("network error"))?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| failed("no response"))?;
    if !response.ok() {
        return Err(failed(&format!("the server answered {}", response.status())));
    }
    let text = response.text().map_err(|_| failed("no body"))?;
    JsFuture::from(text).await.ok().and_then(|v| v.as_string()).ok_or_else(|| failed("not text"))
}

/// A ticket's live connection: reconnects by itself (backing off up to ten
/// seconds) and resumes from the last seq the page has, so nothing is lost
/// or shown twice. Dropping it closes the socket for good.
pub struct LiveSocket {
    inner: std::rc::Rc<std::cell::RefCell<LiveInner>>,
}

struct LiveInner {
    socket: Option<web_sys::WebSocket>,
    stopped: bool,
    retry_ms: i32,
}

/// What the page gives the live connection.
pub struct LiveHandlers {
    /// The highest seq the page holds (asked at every (re)connect).
    pub last_seq: Box<dyn Fn() -> i64>,
    pub on_frame: Box<dyn Fn(crate::model::ServerFrame)>,
    pub on_online: Box<dyn Fn(bool)>,
}

impl LiveSocket {
    /// Opens the live connection of a ticket (by its human id).
    pub fn open(ticket_id: &str, handlers: LiveHandlers) -> LiveSocket {
        let inner =
            std::rc::Rc::new(std::cell::RefCell::new(LiveInner { socket: None, stopped: false, retry_ms: 500 }));
        connect(inner.clone(), ticket_id.to_owned(), std::rc::Rc::new(handlers));
        LiveSocket { inner }
    }
}

impl Drop for LiveSocket {
    fn drop(&mut self) {
        let mut inner = self.inner.borrow_mut();
        inner.stopped = true;
        if let Some(socket) = inner.socket.take() {
            let _ = socket.close();
        }
    }
}

fn connect(inner: std::rc::Rc<std::cell::RefCell<LiveInner>>, ticket_id: String, handlers: std::rc::Rc<LiveHandlers>) {
    use wasm_bindgen::closure::Closure;
    let Some(window) = web_sys::window() else { return };
    let location = window.location();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss:" } else { "ws:" };
    let host = location.host().unwrap_or_default();
    let url = format!("{scheme}//{host}/org/support/tickets/{ticket_id}/live");
    let Ok(socket) = web_sys::WebSocket::new(&url) else { return };

    let on_open = {
        let (socket, handlers, inner) = (socket.clone(), handlers.clone(), inner.clone());
        Closure::<dyn FnMut()>::new(move || {
            inner.borrow_mut().retry_ms = 500;
            let resume = crate::model::ClientFrame::Resume { after: (handlers.last_seq)() };
            if let Ok(text) = serde_json::to_string(&resume) {
                let _ = socket.send_with_str(&text);
            }
            (handlers.on_online)(true);
        })
    };
    let on_message = {
        let handlers = handlers.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if let Some(frame) = event.data().as_string().and_then(|t| serde_json::from_str(&t).ok()) {
                (handlers.on_frame)(frame);
            }
        })
    };
    let on_close = {
        let (inner, handlers) = (inner.clone(), handlers.clone());
        Closure::<dyn FnMut()>::new(move || {
            (handlers.on_online)(false);
            let delay = {
                let mut state = inner.borrow_mut();
                state.socket = None;
                if state.stopped {
                    return;
                }
                let delay = state.retry_ms;
                state.retry_ms = (delay * 2).min(10_000);
                delay
            };
            let (inner, ticket_id, handlers) = (inner.clone(), ticket_id.clone(), handlers.clone());
            let retry = Closure::once_into_js(move || {
                if !inner.borrow().stopped {
                    connect(inner, ticket_id, handlers);
                }
            });
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), delay);
            }
        })
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // The socket owns its handlers for its whole life; a reconnect makes new ones.
    on_open.forget();
    on_message.forget();
    on_close.forget();
    inner.borrow_mut().socket = Some(socket);
}
