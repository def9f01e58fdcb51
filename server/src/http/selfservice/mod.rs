//! Self-service endpoints: login, registration and settings flows for
//! browsers and native apps, logout, and the error flows browsers are shown.
//!
//! Browser flows answer with pages (303 redirects) unless the client asks for
//! JSON; native flows always answer JSON and never set cookies.

mod errors;
mod flows;
mod logout;
mod respond;

pub use errors::get_error;
pub use flows::{
    create_login_api, create_login_browser, create_registration_api, create_registration_browser,
    create_settings_api, create_settings_browser, get_login, get_registration, get_settings,
    submit_login, submit_registration, submit_settings,
};
pub use logout::{logout_api, logout_browser, logout_with_token};
