//! The OpenAPI 3.1 document served at `/openapi.json`.
//!
//! It is generated from the handlers: each route is registered through `utoipa-axum`'s
//! `routes!`, which takes the path, method, parameters, body and responses from the handler's
//! `#[utoipa::path]` attribute, so a route cannot exist without its entry. The `security` of
//! each operation (`session` + `signature` unless public), its `x-miniguard-access` extension and
//! its 401/403 answers are written from the route's declared access ([`crate::access`]), the same
//! value the access layer enforces. `finish` then adds the answers every route can give (problem
//! JSON for 400, 408, 413, 415, 429, 500 and 503), so the handlers state only what is
//! particular to them.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr, Required,
    ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

/// The body of every error: RFC 9457 problem details.
#[derive(serde::Serialize, ToSchema)]
#[schema(title = "Problem")]
#[allow(dead_code)] // a schema only: responses are rendered by the problem middleware
pub struct ProblemBody {
    /// `about:blank` for a plain HTTP status, else `urn:miniguard:problem:<slug>`.
    #[serde(rename = "type")]
    kind: String,
    /// A short, fixed summary.
    title: String,
    status: u16,
    /// The id of the request, also in the `X-Request-Id` header.
    request_id: String,
    /// A fixed explanation, when there is one.
    #[schema(required = false)]
    detail: Option<String>,
}

/// The document's frame: info and security schemes; paths come from the router.
pub(crate) fn base() -> OpenApi {
    let components = ComponentsBuilder::new()
        .schema(ProblemBody::name(), ProblemBody::schema())
        .security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The access token from login or refresh (opaque, 256-bit, base64url).",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            "signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-MG-Signature",
                "HMAC-SHA256 of the canonical request with the session's signing_key, sent with \
                 X-MG-Timestamp (unix seconds, within 300 s) and X-MG-Nonce (at least 16 random \
                 bytes, base64url, once). See docs/protocol.md.",
            ))),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("miniguard serve")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The hardened mini-program backend. Errors are application/problem+json.",
                ))
                .build(),
        )
        .components(Some(components))
        .build()
}

pub(crate) fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    ProblemBody::name(),
                ))))
                .build(),
        )
        .build()
}

/// Adds the answers every operation can give, without replacing what a handler documented.
pub(crate) fn finish(mut doc: OpenApi) -> OpenApi {
    let common = [
        (
            "400",
            "Malformed request (the reason is logged, not returned)",
        ),
        ("408", "The request took too long"),
        ("413", "The body is larger than the configured limit"),
        ("415", "The body is not application/json"),
        ("429", "Rate limited; see Retry-After"),
        ("500", "Server failure (the cause is logged)"),
        ("503", "Not ready, or the platform is busy"),
    ];
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            // 401 and 403 of the access layer come from each route's declaration
            // (crate::access); these are the answers every route can give.
            let responses = &mut op.responses.responses;
            for (code, text) in common {
                responses
                    .entry(code.to_owned())
                    .or_insert_with(|| RefOr::T(problem_response(text)));
            }
            if let Some(RefOr::T(body)) = &mut op.request_body {
                body.required = Some(Required::True);
            }
        }
    }
    doc
}

/// The path of the document itself.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The finished document as served, a request extension (set once the router is built, since
/// the document describes the router).
#[derive(Clone, Debug)]
pub(crate) struct Document(pub(crate) std::sync::Arc<str>);

/// Auth: none. This document.
#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")))]
pub(crate) async fn openapi_json(
    axum::Extension(doc): axum::Extension<Document>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc.0.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_problem_schema_names_its_fields() {
        let schema =
            serde_json::to_value(<super::ProblemBody as utoipa::PartialSchema>::schema()).unwrap();
        for field in ["type", "title", "status", "request_id", "detail"] {
            assert!(schema["properties"][field].is_object(), "{field}: {schema}");
        }
    }
}
