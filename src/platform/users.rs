//! The users' indexes on Workers: one Durable Object per user, named
//! `user:` + the user id, in the session Durable Object namespace (the
//! `SessionObject` class serves both: a session's requests go to `/`, an
//! index's to `/user`), speaking the protocol of [`crate::users::index`].

use wasm_bindgen::{JsCast, JsValue};

use super::bindings::{object, DurableObjectNamespace, FetchResponse};
use super::js_error;
use super::promise::settled;
use crate::metrics::count;
use crate::store::{StoreError, StoreOp};
use crate::users::{LocalFuture, UserIndex};

/// The path of an index's requests to the object class.
pub const INDEX_URL: &str = "https://session-object/user";

/// The users' indexes behind a Durable Object namespace.
#[derive(Clone)]
pub struct DurableUsers {
    namespace: JsValue,
}

impl DurableUsers {
    /// Indexes in the objects of the Durable Object binding `namespace`.
    pub fn new(namespace: JsValue) -> Self {
        Self { namespace }
    }

    async fn send(&self, user: &str, body: String) -> Result<String, StoreError> {
        count(|c| c.do_call += 1);
        let ns: &DurableObjectNamespace = self.namespace.unchecked_ref();
        let err = |e: JsValue| js_error(StoreOp::ObjectCall, "user index unreachable", e);
        let stub = ns.stub(&ns.id_from_name(&format!("user:{user}")).map_err(err)?).map_err(err)?;
        let init = object(&[("method", "POST".into()), ("body", body.into())]);
        let response: FetchResponse =
            settled(&stub.fetch(INDEX_URL, &init).map_err(err)?).await.map_err(err)?.unchecked_into();
        let text = settled(&response.text().map_err(err)?).await.map_err(err)?;
        Ok(text.as_string().unwrap_or_default())
    }
}

impl UserIndex for DurableUsers {
    fn call<'a>(&'a self, user: &'a str, body: String) -> LocalFuture<'a, Result<String, StoreError>> {
        Box::pin(self.send(user, body))
    }
}
