//! The OpenAPI document, generated from the handlers and types, and a plain
//! docs page rendered from it (no third-party scripts, so the CSP stays strict).

use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "PayQuest machine API", version = "1",
         description = "For game servers and social bridges: get a token with client credentials, then report activities. Published site content is readable by anyone."),
    paths(super::oauth::token, super::oauth::jwks, super::activities::report, super::activities::status,
          super::content::list, super::content::entry),
    components(schemas(payquest_types::ApiError, payquest_types::ErrorCode)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

pub async fn document() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub async fn docs() -> Html<String> {
    let doc = ApiDoc::openapi();
    let mut body = String::new();
    for (path, item) in doc.paths.paths.iter() {
        let ops = [("GET", &item.get), ("POST", &item.post)];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            body.push_str(&format!(
                "<section><h2><code>{method} {}</code></h2><p>{}</p><ul>",
                escape(path),
                escape(
                    op.description
                        .as_deref()
                        .or(op.summary.as_deref())
                        .unwrap_or("")
                )
            ));
            for (status, response) in op.responses.responses.iter() {
                let text = match response {
                    utoipa::openapi::RefOr::T(r) => r.description.clone(),
                    utoipa::openapi::RefOr::Ref(r) => r.ref_location.clone(),
                };
                body.push_str(&format!(
                    "<li><code>{}</code> {}</li>",
                    escape(status),
                    escape(&text)
                ));
            }
            body.push_str("</ul></section>");
        }
    }
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>PayQuest API</title></head>\
         <body><h1>{}</h1><p>{}</p><p>The machine-readable document: <a href=\"/api/v1/openapi.json\">openapi.json</a>.</p>{body}</body></html>",
        escape(&doc.info.title),
        escape(doc.info.description.as_deref().unwrap_or(""))
    ))
}
