//! /api/openapi.json: an OpenAPI 3.1 description of every route. The table below is
//! the one list of routes with their documentation; a test checks it against the
//! router, so a route cannot be added without being described.

use axum::Json;
use serde_json::{Map, Value, json};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, logo).
    Open,
    /// Anyone, or viewer-token holders when VIEWER_TOKEN is set.
    Viewer,
    /// Admin-token holders, from the same origin.
    Admin,
}

/// One documented route.
pub struct RouteDoc {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path with `{param}` placeholders, as the router has it.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Media type of a successful answer.
    pub produces: &'static str,
    /// Status of a successful answer.
    pub ok: u16,
    /// JSON body fields accepted: (name, JSON type, description).
    pub body: &'static [(&'static str, &'static str, &'static str)],
    /// Query parameters: (name, JSON type, description).
    pub query: &'static [(&'static str, &'static str, &'static str)],
}

const LIST_QUERY: &[(&str, &str, &str)] = &[
    ("offset", "integer", "Items to skip (default 0)."),
    ("limit", "integer", "Items to return, 1-100 (default 50)."),
    ("q", "string", "Case-insensitive search."),
];
const JSON: &str = "application/json";

macro_rules! route {
    ($m:literal, $p:literal, $s:literal, $a:ident, $prod:expr, $ok:literal) => {
        route!($m, $p, $s, $a, $prod, $ok, &[], &[])
    };
    ($m:literal, $p:literal, $s:literal, $a:ident, $prod:expr, $ok:literal, $body:expr, $query:expr) => {
        RouteDoc {
            method: $m,
            path: $p,
            summary: $s,
            access: Access::$a,
            produces: $prod,
            ok: $ok,
            body: $body,
            query: $query,
        }
    };
}

/// Every route of the router.
pub const ROUTES: &[RouteDoc] = &[
    route!(
        "get",
        "/",
        "A short text saying where the stream is.",
        Open,
        "text/plain",
        200
    ),
    route!(
        "get",
        "/healthz",
        "Liveness: the process answers.",
        Open,
        "text/plain",
        200
    ),
    route!(
        "get",
        "/readyz",
        "Readiness: a segment was published in the last 10 s (else 503).",
        Open,
        "text/plain",
        200
    ),
    route!(
        "get",
        "/metrics",
        "Prometheus metrics.",
        Open,
        "text/plain",
        200
    ),
    route!(
        "get",
        "/logo.svg",
        "The channel's logo.",
        Open,
        "image/svg+xml",
        200
    ),
    route!(
        "get",
        "/api/openapi.json",
        "This document.",
        Open,
        JSON,
        200
    ),
    route!(
        "get",
        "/hls/{file}",
        "The live playlist (stream.m3u8) or a segment (immutable, Range supported).",
        Viewer,
        "application/vnd.apple.mpegurl",
        200
    ),
    route!(
        "get",
        "/iptv.m3u",
        "An M3U playlist with the channel, for IPTV apps.",
        Viewer,
        "audio/x-mpegurl",
        200
    ),
    route!(
        "get",
        "/epg.xml",
        "An XMLTV guide: the chunk on air and the chunks queued after it.",
        Viewer,
        "application/xml",
        200
    ),
    route!(
        "get",
        "/api/status",
        "On air or not, counters, generator state, library counts.",
        Viewer,
        JSON,
        200
    ),
    route!(
        "get",
        "/api/stream-status",
        "The chunk, clip (title, creator, position, duration) and track on air, and the next chunk; `slate` is true (clip and chunk null) while the slate airs.",
        Viewer,
        JSON,
        200
    ),
    route!(
        "get",
        "/api/system-usage",
        "CPU, memory, GPU and disk use, now and for the last ten minutes.",
        Viewer,
        JSON,
        200
    ),
    route!(
        "get",
        "/api/chunks",
        "Chunks, with paging, search and sort.",
        Viewer,
        JSON,
        200,
        &[],
        &[
            ("offset", "integer", "Items to skip (default 0)."),
            ("limit", "integer", "Items to return, 1-100 (default 50)."),
            (
                "q",
                "string",
                "Case-insensitive search in ids and clip titles."
            ),
            (
                "sort",
                "string",
                "created | aired | times_aired | size | duration"
            ),
            ("order", "string", "asc | desc (default desc)"),
        ]
    ),
    route!(
        "get",
        "/api/chunks/{id}",
        "A chunk with its clips (source, time range, encoder).",
        Viewer,
        JSON,
        200
    ),
    route!(
        "delete",
        "/api/chunks/{id}",
        "Deletes a chunk; 409 for the one on air or one being made.",
        Admin,
        JSON,
        204
    ),
    route!(
        "get",
        "/api/audio",
        "Music tracks, least played first, with search.",
        Viewer,
        JSON,
        200,
        &[],
        LIST_QUERY
    ),
    route!(
        "get",
        "/api/library",
        "Source videos in LRU order, with used ranges and errors.",
        Viewer,
        JSON,
        200,
        &[],
        LIST_QUERY
    ),
    route!(
        "get",
        "/api/stats",
        "Hours streamed, chunks created and aired, top videos, tracks and creators.",
        Viewer,
        JSON,
        200
    ),
    route!(
        "get",
        "/api/settings",
        "Every editable setting, and those waiting for a restart.",
        Viewer,
        JSON,
        200
    ),
    route!(
        "get",
        "/api/settings/schema",
        "The JSON schema of the editable settings (bounds, choices, labels, groups), from which forms are made.",
        Viewer,
        JSON,
        200
    ),
    route!(
        "put",
        "/api/settings",
        "Changes settings (any subset); 422 names the field and why. Live fields apply at once.",
        Admin,
        JSON,
        200,
        &[
            ("clip_min", "number", "Shortest clip, s."),
            ("clip_max", "number", "Longest clip, s."),
            ("chunk_duration", "number", "Chunk length, s."),
            ("max_chunks", "integer", "Most chunks kept."),
            ("ready_chunks", "integer", "Never-aired chunks kept ready."),
            ("chunks_per_run", "integer", "Chunks per run."),
            ("disk_budget", "integer", "Most bytes of chunks, 0: none."),
            ("schedule", "string", "Cron expression, empty: none."),
            ("color_grade", "string", "none, moody, warm, cool, mono."),
            ("video_wall", "boolean", "Three panels."),
            ("watermark", "string", "none, creator, title."),
            (
                "watermark_fallback",
                "string",
                "Text when the creator is unknown."
            ),
            ("generator_jobs", "integer", "Jobs at once (next start)."),
            (
                "hw_accel",
                "string",
                "none, nvidia, vaapi, qsv, auto (next start)."
            ),
            ("width", "integer", "Output width (next start)."),
            ("height", "integer", "Output height (next start)."),
            ("fps", "integer", "Output frame rate (next start)."),
            ("video_bitrate", "integer", "kb/s (next start)."),
            ("music_loudness", "number", "LUFS (next start)."),
        ],
        &[]
    ),
    route!(
        "get",
        "/api/jobs",
        "The generator's state and each job's percent, speed and ETA.",
        Viewer,
        JSON,
        200
    ),
    route!(
        "get",
        "/api/events",
        "Server-sent events: now_playing, jobs, library.",
        Viewer,
        "text/event-stream",
        200
    ),
    route!(
        "post",
        "/api/generate_chunk",
        "Makes chunks (CHUNKS_PER_RUN by default). The body is optional.",
        Admin,
        JSON,
        202,
        &[("count", "integer", "Chunks to make, 1-100."),],
        &[]
    ),
    route!(
        "post",
        "/api/stop_generation",
        "Stops the running jobs and pending requests.",
        Admin,
        JSON,
        202
    ),
    route!(
        "post",
        "/api/skip_to_next",
        "The next segment comes from the next clip.",
        Admin,
        JSON,
        202
    ),
    route!(
        "post",
        "/api/skip_to_next_audio",
        "The music goes on with the next track.",
        Admin,
        JSON,
        202
    ),
    route!(
        "post",
        "/api/play_chunk",
        "The chunk airs after the current one.",
        Admin,
        JSON,
        202,
        &[
            (
                "chunk_name",
                "string",
                "The chunk's id (the original tool's field)."
            ),
            ("chunk_id", "string", "The chunk's id."),
        ],
        &[]
    ),
    route!(
        "post",
        "/api/play_audio",
        "The track plays after the one already queued.",
        Admin,
        JSON,
        202,
        &[
            (
                "audio_name",
                "string",
                "The track's file name (the original tool's field)."
            ),
            ("track_id", "string", "The track's id."),
        ],
        &[]
    ),
];

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        params.extend(r.query.iter().map(|(name, ty, desc)| {
            json!({"name": name, "in": "query", "required": false, "description": desc, "schema": {"type": ty}})
        }));
        let mut responses = Map::new();
        let ok_content = if r.ok == 204 {
            json!({"description": "Done."})
        } else {
            json!({"description": "Success.", "content": {r.produces: {}}})
        };
        responses.insert(r.ok.to_string(), ok_content);
        let error = json!({"description": "An error.", "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}});
        if r.access != Access::Open {
            responses.insert("401".into(), error.clone());
        }
        if r.access == Access::Admin {
            responses.insert("403".into(), error.clone());
        }
        if !params.is_empty() || !r.body.is_empty() {
            responses.insert("404".into(), error.clone());
            responses.insert("422".into(), error.clone());
        }
        let mut op = json!({
            "summary": r.summary,
            "operationId": format!("{}{}", r.method, r.path.replace(['/', '{', '}', '.', '-'], "_")),
            "parameters": params,
            "responses": responses,
        });
        op["security"] = match r.access {
            Access::Open => json!([]),
            Access::Viewer => json!([{}, {"viewer": []}, {"admin": []}]),
            Access::Admin => json!([{"admin": []}]),
        };
        if !r.body.is_empty() {
            let props: Map<String, Value> = r
                .body
                .iter()
                .map(|(n, ty, d)| (n.to_string(), json!({"type": ty, "description": d})))
                .collect();
            op["requestBody"] = json!({
                "required": r.method != "post" || r.path != "/api/generate_chunk",
                "content": {JSON: {"schema": {"type": "object", "additionalProperties": false, "properties": props}}}
            });
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "shufflecast",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A never-ending TV channel: the stream, the control API, the IPTV playlist and guide.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "admin": {"type": "http", "scheme": "bearer", "description": "ADMIN_TOKEN (or DATA/admin-token)."},
                "viewer": {"type": "http", "scheme": "bearer", "description": "VIEWER_TOKEN, when set; also accepted as ?token=."},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
                }
            }
        }
    })
}

/// GET /api/openapi.json
pub async fn serve() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.route("PATH", METHOD(...))` in the router's source, with chained
    /// methods (`get(a).post(b)`) too.
    fn router_routes() -> Vec<(String, String)> {
        let src = include_str!("mod.rs");
        let mut out = Vec::new();
        for part in src.split(".route(\"").skip(1) {
            let (path, rest) = part.split_once('"').unwrap();
            let call = rest.split("))").next().unwrap();
            for m in ["get", "post", "put", "delete", "patch"] {
                if call.contains(&format!(" {m}(")) || call.contains(&format!(".{m}(")) {
                    out.push((m.to_string(), path.to_string()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn documents_every_route_the_router_has_and_no_other() {
        let mut documented: Vec<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        documented.sort();
        let routes = router_routes();
        assert!(routes.len() > 20, "{routes:?}");
        assert_eq!(documented, routes);
    }

    #[test]
    fn the_document_is_openapi() {
        let d = document();
        assert_eq!(d["openapi"], "3.1.0");
        let paths = d["paths"].as_object().unwrap();
        assert_eq!(
            paths
                .values()
                .map(|p| p.as_object().unwrap().len())
                .sum::<usize>(),
            ROUTES.len()
        );
        let del = &d["paths"]["/api/chunks/{id}"]["delete"];
        assert_eq!(del["security"], json!([{"admin": []}]));
        assert_eq!(del["parameters"][0]["name"], "id");
        let play = &d["paths"]["/api/play_chunk"]["post"]["requestBody"]["content"][JSON]["schema"];
        assert!(play["properties"]["chunk_name"].is_object());
    }
}
