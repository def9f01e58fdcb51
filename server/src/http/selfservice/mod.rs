//! Self-service endpoints: login, registration and settings flows for
//! browsers and native apps, logout, the error flows browsers are shown, and
//! the disabled answer of the flows this version does not offer.
//!
//! Browser flows answer with pages (303 redirects) unless the client asks for
//! JSON; native flows always answer JSON and never set cookies.

mod errors;
mod flows;
mod logout;
mod not_offered;
mod respond;

pub use errors::get_error;
pub use flows::{FlowRoute, create, fetch, submit};
pub use logout::{logout_api, logout_browser, logout_with_token};
pub use not_offered::{NotOffered, not_offered};
