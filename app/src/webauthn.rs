//! WebAuthn security keys and passkeys as MFA devices. The server side (webauthn-rs) makes and
//! checks the ceremonies; their state stays in the server-side session, never in a cookie. The
//! browser side hands the options to `navigator.credentials` and the answer back, as JSON (the
//! browser's own `parse*OptionsFromJSON` and `toJSON`: nothing of the protocol is written here).

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use serde::{Deserialize, Serialize};
    use webauthn_rs::prelude::{Passkey, SecurityKey, Url, Webauthn, WebauthnBuilder};

    /// Builds the relying party for the console's public origin: its host is the RP id.
    pub fn relying_party(public_origin: &str) -> Result<Webauthn, String> {
        let origin = Url::parse(public_origin).map_err(|e| format!("public origin {public_origin}: {e}"))?;
        let rp_id = origin.host_str().ok_or_else(|| format!("public origin {public_origin} has no host"))?.to_owned();
        WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|b| b.rp_name("Portcullis").build())
            .map_err(|e| format!("WebAuthn relying party for {public_origin}: {e}"))
    }

    /// A registered credential as stored in its MFA device row: a second-factor security key
    /// (U2F or FIDO2, user presence) or a passkey (user verification required).
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum StoredKey {
        SecurityKey { credential: SecurityKey },
        Passkey { credential: Passkey },
    }

    impl StoredKey {
        /// The signature counter stored with the key (0: the key keeps none). webauthn-rs shows
        /// it only behind its `danger-credential-internals` feature, so it is read from the key's
        /// serialized form (`cred.counter`), which is also what the database holds. `None` if
        /// that form changed: the caller refuses the sign-in rather than skip the clone check.
        pub fn counter(&self) -> Option<u32> {
            let value = match self {
                StoredKey::SecurityKey { credential } => serde_json::to_value(credential),
                StoredKey::Passkey { credential } => serde_json::to_value(credential),
            };
            value
                .ok()
                .and_then(|v| v.pointer("/cred/counter").and_then(serde_json::Value::as_u64))
                .and_then(|c| u32::try_from(c).ok())
        }

        pub fn credential_id(&self) -> String {
            let id = match self {
                StoredKey::SecurityKey { credential } => credential.cred_id(),
                StoredKey::Passkey { credential } => credential.cred_id(),
            };
            serde_json::to_value(id).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        }
    }

    /// A registration in progress, kept in the server-side session.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct PendingRegistration {
        pub name: String,
        pub passkey: bool,
        pub state: serde_json::Value,
    }

    /// An authentication in progress, kept in the server-side session.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct PendingAuthentication {
        pub serial_number: String,
        pub passkey: bool,
        pub state: serde_json::Value,
    }

    pub const REGISTRATION_KEY: &str = "webauthn_registration";
    pub const AUTHENTICATION_KEY: &str = "webauthn_authentication";

    /// The `publicKey` member of a ceremony's options, as the browser's `parse*OptionsFromJSON`
    /// takes it. For second-factor keys, webauthn-rs 0.6 asks for credential protection with user
    /// verification while preferring none, which Chromium refuses ("Requested protection policy is
    /// inconsistent", webauthn-rs issue 490); a second factor needs no credential protection, so
    /// those two extension members are dropped.
    pub fn browser_options(options: &impl Serialize, second_factor: bool) -> Result<String, String> {
        let mut value = serde_json::to_value(options).map_err(|e| e.to_string())?;
        let mut public_key = value.get_mut("publicKey").map(serde_json::Value::take).unwrap_or_default();
        if second_factor && let Some(extensions) = public_key.get_mut("extensions").and_then(|e| e.as_object_mut()) {
            extensions.remove("credentialProtectionPolicy");
            extensions.remove("enforceCredentialProtectionPolicy");
        }
        Ok(public_key.to_string())
    }

    /// The user handle a principal's credentials carry: a name-based UUID (v5) of its unique id
    /// (an IAM user id, or the account id for the root user), the same at every registration.
    pub fn user_uuid(principal_id: &str) -> uuid::Uuid {
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("portcullis-principal:{principal_id}").as_bytes())
    }
}

/// Runs a ceremony in the browser: `create` (register) or `get` (sign in) with the server's
/// options, answering the credential as JSON for the server.
#[cfg(feature = "hydrate")]
pub async fn ceremony(options_json: &str, create: bool) -> Result<String, String> {
    use leptos::wasm_bindgen::{JsCast as _, JsValue};
    use leptos::web_sys;

    fn text(e: JsValue) -> String {
        js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| format!("{e:?}"))
    }
    let window: JsValue = web_sys::window().ok_or("no window")?.into();
    let pkc = js_sys::Reflect::get(&window, &"PublicKeyCredential".into()).map_err(text)?;
    if pkc.is_undefined() {
        return Err("This browser does not support security keys or passkeys.".to_owned());
    }
    let parse_name = if create { "parseCreationOptionsFromJSON" } else { "parseRequestOptionsFromJSON" };
    let parse: js_sys::Function = js_sys::Reflect::get(&pkc, &parse_name.into())
        .map_err(text)?
        .dyn_into()
        .map_err(|_| "This browser is too old for security keys here.".to_owned())?;
    let options = js_sys::JSON::parse(options_json).map_err(text)?;
    let public_key = parse.call1(&pkc, &options).map_err(text)?;
    let argument = js_sys::Object::new();
    js_sys::Reflect::set(&argument, &"publicKey".into(), &public_key).map_err(text)?;
    let navigator = js_sys::Reflect::get(&window, &"navigator".into()).map_err(text)?;
    let credentials = js_sys::Reflect::get(&navigator, &"credentials".into()).map_err(text)?;
    let method: js_sys::Function = js_sys::Reflect::get(&credentials, &(if create { "create" } else { "get" }).into())
        .map_err(text)?
        .dyn_into()
        .map_err(|_| "navigator.credentials is not available".to_owned())?;
    let promise: js_sys::Promise = method.call1(&credentials, &argument).map_err(text)?.dyn_into().map_err(text)?;
    let credential = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("The security key did not answer: {}", text(e)))?;
    let to_json: js_sys::Function =
        js_sys::Reflect::get(&credential, &"toJSON".into()).map_err(text)?.dyn_into().map_err(text)?;
    let json = to_json.call0(&credential).map_err(text)?;
    js_sys::JSON::stringify(&json).map_err(text)?.as_string().ok_or_else(|| "no answer".to_owned())
}

/// Without the browser there is no ceremony (server-side rendering never runs event handlers).
#[cfg(not(feature = "hydrate"))]
pub async fn ceremony(_options_json: &str, _create: bool) -> Result<String, String> {
    Err("Security keys need the browser.".to_owned())
}
