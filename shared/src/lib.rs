//! Everything the Portal functions share: configuration, the error type, request parsing,
//! the domain rules (keys, codes, users, sessions, limits) and the one DynamoDB store layer.
//!
//! A function's `main.rs` calls [`runtime::run`] with its handler; the handler parses the
//! request with [`http`], makes one call into a domain module and returns the result, which
//! [`runtime`] maps to the HTTP response (success body or error envelope) in one place.

pub mod app;
pub mod clock;
pub mod codes;
pub mod config;
pub mod error;
pub mod http;
pub mod input;
pub mod keys;
pub mod limits;
pub mod runtime;
pub mod secrets;
pub mod sessions;
pub mod store;
pub mod users;

pub use app::App;
pub use error::{Error, Result};
