//! The rule registry. One rule per file under `rules/<category>/`, each declared with
//! [`declare_rule!`](crate::declare_rule) so that its documentation is its doc comment and its
//! metadata sits next to its code. Codes are stable forever and never reused.

use crate::events::{Cx, Event};

pub mod auth;
pub mod config;
pub mod injection;
pub mod secrets;
pub mod storage;
pub mod transport;
pub mod xss;

/// A rule's fixed facts: the type the dependency audit's rules share (see
/// [`miniguard_report::RuleMeta`]).
pub use miniguard_report::RuleMeta;

/// A rule reads the events the evaluator produces for every analysed file and reports findings.
pub trait Rule: Sync + Send {
    fn meta(&self) -> &'static RuleMeta;
    /// Called for every event in JS/TS code and template bindings.
    fn check(&self, _cx: &mut Cx<'_>, _event: &Event<'_, '_>) {}
    /// Called once per JSON configuration file.
    fn check_json(&self, _cx: &mut Cx<'_>, _file: &crate::config::JsonFile<'_>) {}
    /// Called once per project, after every file was analysed.
    fn check_project(&self, _cx: &mut Cx<'_>, _facts: &crate::config::ProjectFacts) {}
}

/// Declare a rule: its doc comment becomes its documentation.
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:expr])*
        $vis:vis struct $name:ident {
            code: $code:literal,
            name: $rname:literal,
            category: $cat:ident,
            severity: $sev:ident,
            confidence: $conf:ident,
            cwe: [$($cwe:literal),* $(,)?],
            summary: $summary:literal $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Default, Clone, Copy)]
        $vis struct $name;

        impl $name {
            pub const META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
                code: $code,
                name: $rname,
                category: miniguard_report::Category::$cat,
                severity: miniguard_report::Severity::$sev,
                confidence: miniguard_report::Confidence::$conf,
                cwe: &[$($cwe),*],
                summary: $summary,
                docs: concat!($($doc, "\n"),*),
            };
        }
    };
}

/// Every rule, in code order.
pub fn all() -> &'static [&'static dyn Rule] {
    static ALL: &[&dyn Rule] = &[
        &transport::insecure_http_endpoint::InsecureHttpEndpoint,
        &transport::url_check_disabled::UrlCheckDisabled,
        &transport::tls_verification_disabled::TlsVerificationDisabled,
        &transport::secret_in_url::SecretInUrl,
        &auth::server_api_from_client::ServerApiFromClient,
        &auth::session_key_on_client::SessionKeyOnClient,
        &auth::trusted_client_identity::TrustedClientIdentity,
        &auth::session_key_in_response::SessionKeyInResponse,
        &auth::jwt_decode_without_verify::JwtDecodeWithoutVerify,
        &auth::jwt_weak_verification::JwtWeakVerification,
        &auth::missing_owner_check::MissingOwnerCheck,
        &auth::client_controlled_amount::ClientControlledAmount,
        &auth::missing_role_check::MissingRoleCheck,
        &auth::credential_in_response::CredentialInResponse,
        &auth::client_identity_login::ClientIdentityLogin,
        &auth::unbounded_quantity::UnboundedQuantity,
        &injection::sql_injection::SqlInjection,
        &injection::nosql_injection::NosqlInjection,
        &injection::command_injection::CommandInjection,
        &injection::code_injection::CodeInjection,
        &injection::path_traversal::PathTraversal,
        &injection::ssrf::Ssrf,
        &injection::navigation_injection::NavigationInjection,
        &xss::rich_text_injection::RichTextInjection,
        &xss::web_view_src::WebViewSrc,
        &xss::dom_html_injection::DomHtmlInjection,
        &xss::reflected_html::ReflectedHtml,
        &xss::open_redirect::OpenRedirect,
        &storage::sensitive_storage::SensitiveStorage,
        &storage::sensitive_log::SensitiveLog,
        &storage::sensitive_clipboard::SensitiveClipboard,
        &storage::hardcoded_crypto_key::HardcodedCryptoKey,
        &storage::weak_cipher::WeakCipher,
        &storage::weak_password_hash::WeakPasswordHash,
        &secrets::hardcoded_appsecret::HardcodedAppsecret,
        &secrets::cloud_access_key::CloudAccessKey,
        &secrets::private_key::PrivateKey,
        &secrets::hardcoded_credential::HardcodedCredential,
        &config::debug_enabled::DebugEnabled,
        &config::missing_private_infos::MissingPrivateInfos,
    ];
    ALL
}

/// Find a rule by code (`T001`) or name (`insecure-http-endpoint`), case-insensitively.
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    all()
        .iter()
        .copied()
        .find(|r| r.meta().code.eq_ignore_ascii_case(id) || r.meta().name.eq_ignore_ascii_case(id))
}
