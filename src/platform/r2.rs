//! An R2 bucket as the `file` engine's [`Bucket`]: the object store calls of
//! [`crate::store::file`] over the raw binding. Conditions are R2's `onlyIf`
//! (`etagDoesNotMatch: "*"` for a create, `etagMatches` for a save); a put
//! whose condition fails resolves to `null`, which is `Ok(false)` here. The
//! record's `expires` and `version` travel as the object's custom metadata.

use wasm_bindgen::{JsCast, JsValue};

use super::bindings::{object, R2BucketBinding, R2Object};
use super::js_error;
use super::promise::settled;
use crate::metrics::count;
use crate::store::file::{Bucket, Condition, Head, Meta, Object, Page};
use crate::store::{BackendError, StoreError, StoreOp};

/// An R2 bucket holding session objects.
#[derive(Clone)]
pub struct R2Bucket {
    bucket: JsValue,
}

impl R2Bucket {
    /// The R2 binding `bucket`.
    pub fn new(bucket: JsValue) -> Self {
        Self { bucket }
    }

    fn binding(&self) -> &R2BucketBinding {
        self.bucket.unchecked_ref()
    }
}

async fn settle(op: StoreOp, call: Result<js_sys::Promise, JsValue>) -> Result<JsValue, StoreError> {
    let promise = call.map_err(|e| js_error(op, "", e))?;
    settled(&promise).await.map_err(|e| js_error(op, "", e))
}

/// The object R2 returned, or `None` for `null`.
fn found(value: JsValue) -> Option<R2Object> {
    (!value.is_null() && !value.is_undefined()).then(|| value.unchecked_into())
}

fn text(value: &JsValue) -> Option<String> {
    value.as_string()
}

fn meta_of(custom: &JsValue) -> Option<Meta> {
    if !custom.is_object() {
        return None;
    }
    let field = |name: &str| js_sys::Reflect::get(custom, &JsValue::from_str(name)).ok().and_then(|v| v.as_string());
    Meta::parse(field("expires").as_deref(), field("version").as_deref())
}

fn etag_of(op: StoreOp, object: &R2Object) -> Result<String, StoreError> {
    text(&object.etag()).ok_or_else(|| BackendError::new(op, "the R2 object has no etag").into())
}

impl Bucket for R2Bucket {
    async fn get(&self, name: &str) -> Result<Option<Object>, StoreError> {
        count(|c| c.r2_get += 1);
        let Some(object) = found(settle(StoreOp::R2Get, self.binding().get(name)).await?) else { return Ok(None) };
        let etag = etag_of(StoreOp::R2Get, &object)?;
        let body = settle(StoreOp::R2Get, object.body_text()).await?;
        Ok(Some(Object { body: body.as_string().unwrap_or_default(), etag }))
    }

    async fn head(&self, name: &str) -> Result<Option<Head>, StoreError> {
        count(|c| c.r2_head += 1);
        let Some(object) = found(settle(StoreOp::R2Head, self.binding().head(name)).await?) else { return Ok(None) };
        Ok(Some(Head { etag: etag_of(StoreOp::R2Head, &object)?, meta: meta_of(&object.custom_metadata()) }))
    }

    async fn put(&self, name: &str, body: &str, meta: Meta, condition: Condition<'_>) -> Result<bool, StoreError> {
        count(|c| c.r2_put += 1);
        let only_if = match condition {
            Condition::Absent => object(&[("etagDoesNotMatch", "*".into())]),
            Condition::Matches(etag) => object(&[("etagMatches", etag.into())]),
        };
        let custom =
            object(&[("expires", meta.expires_at.to_string().into()), ("version", meta.version.to_string().into())]);
        let http = object(&[("contentType", "application/json".into())]);
        let options = object(&[("onlyIf", only_if), ("customMetadata", custom), ("httpMetadata", http)]);
        let written = settle(StoreOp::R2Put, self.binding().put_object(name, body, &options)).await?;
        Ok(found(written).is_some())
    }

    async fn delete(&self, names: &[String]) -> Result<(), StoreError> {
        count(|c| c.r2_delete += 1);
        let keys: js_sys::Array = names.iter().map(|n| JsValue::from_str(n)).collect();
        settle(StoreOp::R2Delete, self.binding().delete_objects(&keys)).await.map(drop)
    }

    async fn list(&self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError> {
        count(|c| c.r2_list += 1);
        let include: js_sys::Array = [JsValue::from_str("customMetadata")].into_iter().collect();
        let mut options = vec![("prefix", prefix.into()), ("limit", limit.into()), ("include", include.into())];
        if let Some(cursor) = cursor {
            options.push(("cursor", cursor.into()));
        }
        let listed = settle(StoreOp::R2List, self.binding().list(&object(&options))).await?;
        let get = |name: &str| js_sys::Reflect::get(&listed, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
        let objects = get("objects")
            .dyn_into::<js_sys::Array>()
            .map_err(|_| StoreError::from(BackendError::new(StoreOp::R2List, "the listing has no objects array")))?
            .iter()
            .filter_map(|o| {
                let o: R2Object = o.unchecked_into();
                Some((text(&o.key())?, meta_of(&o.custom_metadata())))
            })
            .collect();
        let more = get("truncated").as_bool().unwrap_or(false);
        Ok(Page { objects, cursor: if more { text(&get("cursor")) } else { None } })
    }
}
