//! A submission that must go on in a login flow for an account that exists
//! already ([`MethodError::LoginFirst`](super::MethodError::LoginFirst)): a
//! person signs up with a provider account whose address another identity
//! owns. As Kratos does, nothing is created; a new login flow asks the
//! person to sign in to that account with one of its own ways (its
//! identifier filled in), and keeps what the method needs to finish once
//! they did ([`Method::after_login`](super::Method::after_login)).

use serde_json::json;

use super::method::LoginFirst;
use super::service::{FlowError, FlowService, NewFlow};
use super::ui::{Message, Node};
use super::{Flow, FlowKind};
use crate::aal::Aal;

impl FlowService {
    /// Stores the used flow and answers the new login flow as a refused
    /// submission is (the browser goes to the login page).
    pub(super) async fn login_first(&self, request: LoginFirst) -> FlowError {
        let LoginFirst {
            mut used,
            identity,
            identifier,
            message,
            internal,
        } = request;
        used.updated_at = self.clock.now();
        if let Err(error) = self.store.update(&used).await {
            return error.into();
        }
        let mut login = self.login_flow_like(&used);
        login.ui.nodes.retain(|n| n.attributes.name == "csrf_token");
        login.ui.nodes.push(
            Node::input("default", "identifier", "hidden")
                .value(json!(identifier))
                .required()
                .label(Message::info(1070004, "ID")),
        );
        for method in &self.methods {
            method.populate_identified(Some(&identity), &mut login.ui);
        }
        login.ui.messages.push(message);
        login.internal.extend(internal);
        match self.store.create(&login).await {
            Ok(()) => FlowError::Invalid(Box::new(login)),
            Err(error) => error.into(),
        }
    }

    /// A new login flow for the same client as `used`: its type, request
    /// URL, return URL and the browser's anti-CSRF token.
    fn login_flow_like(&self, used: &Flow) -> Flow {
        let new = NewFlow {
            kind: FlowKind::Login,
            flow_type: used.flow_type,
            request_url: used.request_url.clone(),
            return_to: used.return_to.clone(),
            refresh: false,
            requested_aal: Aal::Aal1,
            csrf_token: None,
            identity_schema: None,
        };
        let mut login = self.build_with_lifespan(&new, self.settings.login_lifespan);
        // The masked token opens with the same browser's cookie.
        login.csrf_token = used.csrf_token.clone();
        self.fill_form(&mut login);
        login
    }
}
