//! Self-service endpoints: login, registration, settings, recovery and
//! verification flows for browsers and native apps, logout, the error
//! flows browsers are shown, and the callback of OpenID Connect providers.
//!
//! Browser flows answer with pages (303 redirects) unless the client asks for
//! JSON; native flows always answer JSON and never set cookies.

mod address;
mod errors;
mod flows;
mod logout;
mod oidc;
mod respond;

pub use address::{change_password, follow_link, submit_address};
pub use errors::get_error;
pub use flows::{FlowRoute, create, fetch, submit};
pub use logout::{logout_api, logout_browser, logout_with_token};
pub use oidc::callback as oidc_callback;
pub use oidc::callback_form as oidc_callback_form;
