//! Domain types shared by the server and the browser: what the REST API and
//! the server functions send, and what the UI renders.

mod account;
mod ticket;

pub use account::*;
pub use ticket::*;
