//! /api/openapi.json: the OpenAPI 3.1 document, generated from the router's own
//! routes (each handler's `#[utoipa::path]`, registered by `routes!` in `http`) and
//! from the types of `wire`, so it cannot drift from what the server answers. Who
//! may call a route comes from the group the router puts it in. `shufflecast
//! openapi` prints the document; `web/src/api.gen.ts` is generated from it.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::wire::ErrorBody;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, logo, this document).
    Open,
    /// Anyone, or viewer-token holders when VIEWER_TOKEN is set.
    Viewer,
    /// Admin-token holders, from the same origin.
    Admin,
}

impl Access {
    /// Says so in `op`: its security requirements and the errors the token and
    /// origin checks answer.
    fn mark(self, op: &mut Operation) {
        let admin = || SecurityRequirement::new("admin", Vec::<String>::new());
        let viewer = || SecurityRequirement::new("viewer", Vec::<String>::new());
        op.security = Some(match self {
            Access::Open => Vec::new(),
            // The empty requirement: no token at all, when VIEWER_TOKEN is not set.
            Access::Viewer => vec![SecurityRequirement::default(), viewer(), admin()],
            Access::Admin => vec![admin()],
        });
        let error = |description: &str| {
            let json = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", json)
                    .build(),
            )
        };
        let responses = &mut op.responses.responses;
        if self != Access::Open {
            responses.insert("401".into(), error("No token, or a wrong one."));
        }
        if self == Access::Admin {
            responses.insert(
                "403".into(),
                error("A browser's request from another origin."),
            );
        }
    }
}

/// What the document says beside its routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "shufflecast",
        description = "A never-ending TV channel: the stream, the control API, the IPTV playlist and guide."
    ),
    // Paths are relative to wherever the server is reached.
    servers((url = "/")),
    components(schemas(ErrorBody)),
    modifiers(&Tokens)
)]
struct Base;

/// The two bearer tokens, as security schemes.
struct Tokens;

impl Modify for Tokens {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("admin", bearer("ADMIN_TOKEN (or DATA/admin-token)."));
        components.add_security_scheme(
            "viewer",
            bearer("VIEWER_TOKEN, when set; also accepted as ?token=."),
        );
    }
}

/// The operations of a path, whatever their method.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The OpenAPI document of `groups` of routes, each marked with who may call it.
pub fn document<S: Clone + Send + Sync + 'static>(
    groups: impl IntoIterator<Item = (Access, utoipa_axum::router::OpenApiRouter<S>)>,
) -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    for (access, routes) in groups {
        let mut part = routes.into_openapi();
        for item in part.paths.paths.values_mut() {
            for op in operations(item) {
                // Grouped by access, not by the module a handler happens to live in.
                op.tags = None;
                access.mark(op);
            }
        }
        doc.merge(part);
    }
    doc
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    fn doc() -> Value {
        serde_json::to_value(crate::http::document()).unwrap()
    }

    /// Every (method, path, operation) of the document.
    fn ops(d: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in d["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
        out
    }

    /// The handlers the router registers with `routes!(...)`, by name.
    fn routed_handlers() -> BTreeSet<String> {
        let src = include_str!("router.rs");
        src.split("routes!(")
            .skip(1)
            .flat_map(|part| {
                let list = part.split_once(')').unwrap().0;
                list.split(',')
                    .map(|h| h.trim().rsplit("::").next().unwrap().to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn documents_every_route_the_router_has_and_no_other() {
        let src = include_str!("router.rs");
        // A route added beside `routes!` would be served and not documented.
        for bypass in [".route(", ".route_service(", ".nest(", ".nest_service("] {
            assert!(!src.contains(bypass), "router.rs routes with {bypass}");
        }
        let handlers = routed_handlers();
        assert!(handlers.len() > 20, "{handlers:?}");
        let d = doc();
        let ids: BTreeSet<String> = ops(&d)
            .iter()
            .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), ops(&d).len(), "operation ids are unique");
        assert_eq!(ids, handlers);
    }

    #[test]
    fn every_operation_has_a_typed_answer_with_the_right_media_type() {
        let d = doc();
        let media = |path: &str| -> &[&str] {
            match path {
                "/" => &["text/html", "text/plain"],
                "/healthz" | "/readyz" | "/metrics" => &["text/plain"],
                "/logo.svg" => &["image/svg+xml"],
                "/logos/{slug}" => &["image/jpeg", "image/png"],
                "/iptv.m3u" => &["audio/x-mpegurl"],
                "/epg.xml" | "/device.xml" => &["application/xml"],
                "/lineup.post" | "/tuner/{token}/lineup.post" => &["text/plain"],
                "/tuner/{token}/{file}" => &["application/json", "application/xml"],
                "/stream/{file}"
                | "/stream/{token}/{file}"
                | "/stream/{token}/{channel}/{file}" => &["video/mp2t"],
                "/hls/{file}" | "/hls/{channel}/{file}" | "/hls/{channel}/{rung}/{file}" => {
                    &["application/vnd.apple.mpegurl", "video/mp2t"]
                }
                "/api/events" => &["text/event-stream"],
                "/thumbs/videos/{file}"
                | "/thumbs/{channel}/clips/{chunk}/{file}"
                | "/thumbs/{channel}/chunks/{file}" => &["image/jpeg"],
                "/api/chunks/{id}/playlist.m3u8" => &["application/vnd.apple.mpegurl"],
                "/api/chunks/{id}/clips/{file}" => &["video/mp2t"],
                "/chunks/{name}" => &["video/mp2t", "video/mp4"],
                "/audio/{*path}" => &["audio/*"],
                _ => &["application/json"],
            }
        };
        for (method, path, op) in ops(&d) {
            let responses = op["responses"].as_object().unwrap();
            let ok: Vec<_> = responses
                .iter()
                .filter(|(s, _)| s.starts_with('2'))
                .collect();
            assert!(!ok.is_empty(), "{method} {path}: no success answer");
            let (status, answer) = ok[0];
            if status == "204" {
                assert!(answer.get("content").is_none(), "{method} {path}");
                continue;
            }
            let content = answer["content"].as_object().unwrap();
            let types: Vec<&str> = content.keys().map(String::as_str).collect();
            assert_eq!(types, media(&path), "{method} {path}");
            for (ty, body) in content {
                // An HTML page is no schema's business.
                if ty != "text/html" {
                    assert!(
                        body["schema"].is_object(),
                        "{method} {path} {ty}: no schema"
                    );
                }
            }
            for (status, answer) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                if let Some(json) = answer["content"].get("application/json") {
                    assert_eq!(
                        json["schema"]["$ref"], "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn access_is_that_of_the_router_group() {
        let d = doc();
        let op = |m: &str, p: &str| d["paths"][p][m].clone();
        let security = |m: &str, p: &str| op(m, p)["security"].to_string();
        let admin = r#"[{"admin":[]}]"#;
        let viewer = r#"[{},{"viewer":[]},{"admin":[]}]"#;
        assert_eq!(security("delete", "/api/chunks/{id}"), admin);
        assert!(op("delete", "/api/chunks/{id}")["responses"]["403"].is_object());
        assert_eq!(security("put", "/api/settings"), admin);
        assert_eq!(security("get", "/api/settings"), viewer);
        assert!(op("get", "/api/settings")["responses"]["401"].is_object());
        assert!(op("get", "/api/settings")["responses"]["403"].is_null());
        assert_eq!(security("get", "/healthz"), "[]");
        assert!(op("get", "/healthz")["responses"]["401"].is_null());
        let schemes = &d["components"]["securitySchemes"];
        assert_eq!(schemes["admin"]["scheme"], "bearer");
        assert_eq!(schemes["viewer"]["scheme"], "bearer");
    }

    #[test]
    fn every_reference_resolves_and_bodies_are_typed() {
        let d = doc();
        assert_eq!(d["openapi"], "3.1.0");
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&d, &mut all);
        assert!(all.len() > 30, "{all:?}");
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(d["components"]["schemas"][name].is_object(), "{r}");
        }
        let body = |m: &str, p: &str| {
            d["paths"][p][m]["requestBody"]["content"]["application/json"]["schema"].clone()
        };
        assert_eq!(
            body("post", "/api/play_chunk")["$ref"],
            "#/components/schemas/PlayChunkRequest"
        );
        assert_eq!(
            body("put", "/api/settings")["$ref"],
            "#/components/schemas/SettingsPatch"
        );
        // The original's clients post no body at all.
        assert_ne!(
            d["paths"]["/api/generate_chunk"]["post"]["requestBody"]["required"],
            true
        );
        let chunks = &d["paths"]["/api/chunks"]["get"]["parameters"];
        let names: Vec<&str> = chunks
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["offset", "limit", "q", "sort", "order", "channel"]);
        let event = &d["components"]["schemas"]["ServerEvent"];
        assert_eq!(event["oneOf"].as_array().unwrap().len(), 3, "{event}");
    }
}
