//! The one error type of every server function: a stable code and a message,
//! carried as JSON so the page can branch on the code.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use payquest_types::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError(pub ApiError);

impl AppError {
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }
    pub fn message(&self) -> &str {
        &self.0.message
    }
    /// The form field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // Transport and decoding failures: say so without leaking detail.
        let (code, message) = match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                // On the server this is the client's request failing to parse:
                // 400, not the framework's default 500.
                #[cfg(feature = "ssr")]
                if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                    res.set_status(axum::http::StatusCode::BAD_REQUEST);
                }
                (
                    ErrorCode::InvalidInput,
                    // Serde quotes names in backticks; people read quotes.
                    format!("the request could not be read: {}", m.replace('`', "\"")),
                )
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => (
                ErrorCode::Internal,
                "the server could not be reached; check your connection".to_owned(),
            ),
            _ => (ErrorCode::Internal, "something went wrong".to_owned()),
        };
        AppError(ApiError::new(code, message))
    }
}
