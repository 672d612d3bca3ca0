//! The few JavaScript APIs the stores call.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// A Workers KV namespace binding.
    pub type KvNamespace;
    #[wasm_bindgen(method, catch, js_name = get)]
    pub(crate) fn get_text(this: &KvNamespace, key: &str, options: &JsValue) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    pub(crate) fn put(
        this: &KvNamespace,
        key: &str,
        value: &str,
        options: &JsValue,
    ) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = delete)]
    pub(crate) fn remove(this: &KvNamespace, key: &str) -> Result<js_sys::Promise, JsValue>;

    /// A Durable Object namespace binding.
    pub type DurableObjectNamespace;
    #[wasm_bindgen(method, catch, js_name = idFromName)]
    pub(crate) fn id_from_name(this: &DurableObjectNamespace, name: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = get)]
    pub(crate) fn stub(this: &DurableObjectNamespace, id: &JsValue) -> Result<DurableObjectStub, JsValue>;

    /// A stub of one Durable Object.
    pub(crate) type DurableObjectStub;
    #[wasm_bindgen(method, catch)]
    pub(crate) fn fetch(this: &DurableObjectStub, url: &str, init: &JsValue) -> Result<js_sys::Promise, JsValue>;

    /// An R2 bucket binding.
    pub(crate) type R2BucketBinding;
    #[wasm_bindgen(method, catch)]
    pub(crate) fn get(this: &R2BucketBinding, key: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    pub(crate) fn head(this: &R2BucketBinding, key: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = put)]
    pub(crate) fn put_object(
        this: &R2BucketBinding,
        key: &str,
        value: &str,
        options: &JsValue,
    ) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = delete)]
    pub(crate) fn delete_objects(this: &R2BucketBinding, keys: &js_sys::Array) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    pub(crate) fn list(this: &R2BucketBinding, options: &JsValue) -> Result<js_sys::Promise, JsValue>;

    /// What R2 returns for an object (`R2Object`, or `R2ObjectBody` from a `get`).
    pub(crate) type R2Object;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn key(this: &R2Object) -> JsValue;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn etag(this: &R2Object) -> JsValue;
    #[wasm_bindgen(method, getter, js_name = customMetadata)]
    pub(crate) fn custom_metadata(this: &R2Object) -> JsValue;
    #[wasm_bindgen(method, catch, js_name = text)]
    pub(crate) fn body_text(this: &R2Object) -> Result<js_sys::Promise, JsValue>;

    /// A fetch `Response`.
    pub(crate) type FetchResponse;
    #[wasm_bindgen(method, catch)]
    pub(crate) fn text(this: &FetchResponse) -> Result<js_sys::Promise, JsValue>;
}

/// A plain JavaScript object from `(name, value)` pairs.
pub(crate) fn object(entries: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in entries {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}
