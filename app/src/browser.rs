//! Browser-only helpers (`hydrate`): calls the plain JSON routes that server
//! functions do not cover, such as multipart uploads.

use crate::error::{AppError, ErrorCode};
use std::cell::RefCell;
use std::rc::Rc;
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

/// A websocket to one of this site's routes that reconnects by itself
/// (backing off up to ten seconds) while `reconnect` says so. Dropping it
/// closes the socket for good.
pub struct ReconnectingSocket {
    inner: Rc<RefCell<SocketState>>,
}

struct SocketState {
    socket: Option<web_sys::WebSocket>,
    stopped: bool,
    retry_ms: i32,
}

/// What a [`ReconnectingSocket`] calls.
pub struct SocketHandlers {
    /// Binary frames arrive as `ArrayBuffer`s.
    pub binary: bool,
    /// At every (re)connection, with the new socket.
    pub on_open: Box<dyn Fn(&web_sys::WebSocket)>,
    pub on_message: Box<dyn Fn(web_sys::MessageEvent)>,
    pub on_close: Box<dyn Fn()>,
    /// Whether to connect again after a close.
    pub reconnect: Box<dyn Fn() -> bool>,
}

impl ReconnectingSocket {
    /// Connects to `path` (e.g. `/org/support/tickets/ACME-1/live`) on this site.
    pub fn open(path: &str, handlers: SocketHandlers) -> ReconnectingSocket {
        let inner = Rc::new(RefCell::new(SocketState { socket: None, stopped: false, retry_ms: 500 }));
        connect(inner.clone(), path.to_owned(), Rc::new(handlers));
        ReconnectingSocket { inner }
    }

    pub fn send_str(&self, text: &str) {
        if let Some(socket) = &self.inner.borrow().socket {
            let _ = socket.send_with_str(text);
        }
    }

    pub fn send_bytes(&self, bytes: &[u8]) {
        if let Some(socket) = &self.inner.borrow().socket {
            let _ = socket.send_with_u8_array(bytes);
        }
    }
}

impl Drop for ReconnectingSocket {
    fn drop(&mut self) {
        let mut state = self.inner.borrow_mut();
        state.stopped = true;
        if let Some(socket) = state.socket.take() {
            let _ = socket.close();
        }
    }
}

fn connect(inner: Rc<RefCell<SocketState>>, path: String, handlers: Rc<SocketHandlers>) {
    use wasm_bindgen::closure::Closure;
    let Some(window) = web_sys::window() else { return };
    let location = window.location();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss:" } else { "ws:" };
    let host = location.host().unwrap_or_default();
    let Ok(socket) = web_sys::WebSocket::new(&format!("{scheme}//{host}{path}")) else { return };
    if handlers.binary {
        socket.set_binary_type(web_sys::BinaryType::Arraybuffer);
    }
    let on_open = {
        let (socket, handlers, inner) = (socket.clone(), handlers.clone(), inner.clone());
        Closure::<dyn FnMut()>::new(move || {
            inner.borrow_mut().retry_ms = 500;
            (handlers.on_open)(&socket);
        })
    };
    let on_message = {
        let handlers = handlers.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            (handlers.on_message)(event)
        })
    };
    let on_close = {
        let (inner, handlers, path) = (inner.clone(), handlers.clone(), path.clone());
        Closure::<dyn FnMut()>::new(move || {
            (handlers.on_close)();
            let delay = {
                let mut state = inner.borrow_mut();
                state.socket = None;
                if state.stopped || !(handlers.reconnect)() {
                    return;
                }
                let delay = state.retry_ms;
                state.retry_ms = (delay * 2).min(10_000);
                delay
            };
            let (inner, handlers, path) = (inner.clone(), handlers.clone(), path.clone());
            let retry = Closure::once_into_js(move || {
                let stopped = inner.borrow().stopped;
                if !stopped {
                    connect(inner, path, handlers);
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

/// What the page gives a ticket's live connection.
pub struct LiveHandlers {
    /// The highest seq the page holds (asked at every (re)connect).
    pub last_seq: Box<dyn Fn() -> i64>,
    pub on_frame: Box<dyn Fn(crate::model::ServerFrame)>,
    pub on_online: Box<dyn Fn(bool)>,
}

/// A ticket's live connection: resumes from the last seq the page has at
/// every (re)connection, so nothing is lost or shown twice.
pub fn open_live(ticket_id: &str, handlers: LiveHandlers) -> ReconnectingSocket {
    let handlers = Rc::new(handlers);
    let (opened, message, closed) = (handlers.clone(), handlers.clone(), handlers);
    ReconnectingSocket::open(
        &format!("/org/support/tickets/{ticket_id}/live"),
        SocketHandlers {
            binary: false,
            on_open: Box::new(move |socket| {
                let resume = crate::model::ClientFrame::Resume { after: (opened.last_seq)() };
                if let Ok(text) = serde_json::to_string(&resume) {
                    let _ = socket.send_with_str(&text);
                }
                (opened.on_online)(true);
            }),
            on_message: Box::new(move |event| {
                if let Some(frame) = event.data().as_string().and_then(|t| serde_json::from_str(&t).ok()) {
                    (message.on_frame)(frame);
                }
            }),
            on_close: Box::new(move || (closed.on_online)(false)),
            reconnect: Box::new(|| true),
        },
    )
}
