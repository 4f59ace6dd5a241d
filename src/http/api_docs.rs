//! `docs/http-api.md`'s reference part, generated from the OpenAPI document
//! ([`super::router::document`]), so the page says what the server answers: every
//! route grouped by what it is for, each with who may call it, what it does, its
//! parameters, its body and its answers. A test compares it with the page and fails
//! when it is stale (`SHUFFLECAST_BLESS=1 cargo test --lib http::api_docs`
//! rewrites it).

use serde_json::Value;

use super::router::document;

/// The groups of the page, in order: a title, a sentence, and the paths that go in
/// it (a pattern ending in `*` is a prefix; others are whole paths). A path goes in
/// the first group that takes it.
const GROUPS: &[(&str, &str, &[&str])] = &[
    (
        "Live stream",
        "The HLS playlists and segments, and each channel's continuous MPEG-TS.",
        &["/hls/*", "/stream/*"],
    ),
    (
        "HDHomeRun tuner",
        "What Plex, Jellyfin and Emby read of a network tuner; also under `/tuner/{token}/`.",
        &["/discover.json", "/lineup*", "/device.xml", "/tuner/*"],
    ),
    (
        "IPTV playlist and guide",
        "The M3U playlist, the XMLTV guide and the web client's guide.",
        &["/iptv.m3u", "/epg.xml", "/api/guide"],
    ),
    (
        "Channels",
        "Every channel, one channel, its logo; making, changing and deleting them.",
        &["/api/channels*", "/logos/*"],
    ),
    (
        "On air",
        "What airs now and next, skipping and playing next, and the live events.",
        &[
            "/api/status",
            "/api/stream-status",
            "/api/skip_to_next*",
            "/api/play_*",
            "/api/events",
        ],
    ),
    (
        "Chunks and generation",
        "Chunks (montages of clips) and the generator that makes them.",
        &[
            "/api/chunks*",
            "/chunks/*",
            "/api/generate*",
            "/api/stop_generation",
            "/api/jobs",
            "/api/cron*",
            "/api/restart_chunk_generator",
            "/api/clear_generation_lock",
        ],
    ),
    (
        "Library and music",
        "The source videos and the music tracks.",
        &[
            "/api/library",
            "/api/audio",
            "/api/delete_audio",
            "/audio/*",
        ],
    ),
    (
        "Pictures",
        "Posters of source videos, pictures of clips, strips of chunks.",
        &["/thumbs/*"],
    ),
    (
        "Settings",
        "Every editable setting, its schema, and changing them.",
        &["/api/settings*", "/api/update_settings"],
    ),
    (
        "Stats and the machine",
        "What aired, and the machine's load.",
        &["/api/stats", "/api/system-usage"],
    ),
    (
        "Health, metrics and this document",
        "For load balancers, Prometheus and API clients.",
        &["/healthz", "/readyz", "/metrics", "/api/openapi.json"],
    ),
    (
        "Web client",
        "The web client's files and shufflecast's icon.",
        &["/", "/logo.svg"],
    ),
];

/// The methods of a path, in the order the page lists them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn takes(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => path == pattern,
    }
}

/// The page's generated part: the groups, each with its routes in the document's
/// order; paths no group takes come last, under "Other".
pub fn markdown() -> String {
    let doc = document();
    let paths: Vec<String> = doc.paths.paths.keys().cloned().collect();
    let json = serde_json::to_value(&doc).expect("the document serializes");
    let group_of = |path: &str| {
        GROUPS
            .iter()
            .position(|(_, _, patterns)| patterns.iter().any(|p| takes(p, path)))
            .unwrap_or(GROUPS.len())
    };
    let other = ("Other", "Routes of no group above.", &[][..]);
    let mut out = String::from("Groups: ");
    let mut sections = String::new();
    let mut titles = Vec::new();
    for (i, (title, about, _)) in GROUPS.iter().chain([&other]).enumerate() {
        let mine: Vec<&String> = paths.iter().filter(|p| group_of(p) == i).collect();
        if mine.is_empty() {
            continue;
        }
        titles.push(format!("[{title}](#{})", anchor(title)));
        sections.push_str(&format!("\n## {title}\n\n{about}\n"));
        for path in mine {
            for method in METHODS {
                if let Some(op) = json["paths"][path.as_str()].get(method) {
                    sections.push_str(&operation(method, path, op, &json));
                }
            }
        }
    }
    out.push_str(&titles.join(", "));
    out.push_str(".\n");
    out.push_str(&sections);
    out
}

/// The anchor GitHub gives a heading: its text lowercased, each space a `-`, and
/// every character but letters, digits, `-` and `_` dropped (backticks, slashes,
/// braces, commas…). The link check of the docs (`testkit::links`) uses it too.
pub fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// One route: a heading, what it does, who may call it, its parameters, body and
/// answers.
fn operation(method: &str, path: &str, op: &Value, doc: &Value) -> String {
    let mut out = format!("\n### `{} {path}`\n\n", method.to_uppercase());
    for key in ["summary", "description"] {
        if let Some(text) = op[key].as_str() {
            out.push_str(&flow(text));
            out.push_str("\n\n");
        }
    }
    out.push_str(&format!("- **Who**: {}.\n", who(&op["security"], path)));
    for (place, title) in [("path", "Path"), ("query", "Query")] {
        let list = parameters(op, place);
        if !list.is_empty() {
            out.push_str(&format!("- **{title}**:\n{list}"));
        }
    }
    if let Some(body) = op.get("requestBody") {
        out.push_str(&format!("- **Body**: {}.", request_body(body)));
        out.push_str(&body_fields(body, doc));
        out.push('\n');
    }
    out.push_str("- **Answers**:\n");
    if let Some(answers) = op["responses"].as_object() {
        for (status, answer) in answers {
            out.push_str(&format!("  - `{status}`: {}", flow(text_of(answer))));
            let bodies = contents(answer);
            if !bodies.is_empty() {
                out.push_str(&format!(" ({bodies})"));
            }
            out.push('\n');
        }
    }
    out
}

/// Who may call a route, from its security requirements: none is anyone (unless
/// the path itself carries the token); the empty requirement beside `viewer` is
/// anyone until VIEWER_TOKEN is set.
fn who(security: &Value, path: &str) -> String {
    let reqs = security.as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = reqs
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|r| r.keys().map(String::as_str))
        .collect();
    let open = reqs
        .iter()
        .any(|r| r.as_object().is_some_and(|r| r.is_empty()));
    match (reqs.is_empty(), open, names.as_slice()) {
        (true, _, _) if path.contains("{token}") => {
            "anyone with the viewer token, which the path carries (no header)".to_string()
        }
        (true, _, _) => "anyone, no token".to_string(),
        (false, true, ["viewer", "admin"]) => "viewers: anyone while VIEWER_TOKEN is unset; \
             once it is set, the viewer token (or the admin token)"
            .to_string(),
        (false, false, ["admin"]) => "the admin token, from the same origin".to_string(),
        _ => {
            let mut any: Vec<String> = names.iter().map(|n| format!("the {n} token")).collect();
            if open {
                any.insert(0, "no token".to_string());
            }
            format!("one of: {}", any.join(", "))
        }
    }
}

/// The parameters of `op` found in `place` (path or query), one list item each.
fn parameters(op: &Value, place: &str) -> String {
    let mut out = String::new();
    let list = op["parameters"].as_array().cloned().unwrap_or_default();
    for p in list.iter().filter(|p| p["in"] == place) {
        let mut kind = schema_text(&p["schema"]);
        if place == "query" && p["required"] != true {
            kind.push_str(", optional");
        }
        out.push_str(&format!(
            "  - `{}` ({kind})",
            p["name"].as_str().unwrap_or("?")
        ));
        let text = flow(text_of(p));
        if !text.is_empty() {
            out.push_str(&format!(": {text}"));
        }
        out.push('\n');
    }
    out
}

/// A request body: its schema and media type, and whether it may be left out.
fn request_body(body: &Value) -> String {
    let mut parts: Vec<String> = body["content"]
        .as_object()
        .map(|c| {
            c.iter()
                .map(|(media, v)| format!("{} as `{media}`", schema_text(&v["schema"])))
                .collect()
        })
        .unwrap_or_default();
    if body["required"] != true {
        parts.push("optional".to_string());
    }
    parts.join(", ")
}

/// The fields of a request body whose schema is a component: after its
/// description, a line each with its type and meaning, or their names alone
/// when there are many (the settings).
fn body_fields(body: &Value, doc: &Value) -> String {
    let Some(schema) = body["content"]["application/json"]["schema"].as_object() else {
        return String::new();
    };
    let refs = schema.get("oneOf").and_then(Value::as_array);
    let name = std::iter::once(&Value::Object(schema.clone()))
        .chain(refs.into_iter().flatten())
        .find_map(|s| {
            s["$ref"]
                .as_str()
                .map(|r| r.rsplit('/').next().unwrap_or(r))
        })
        .map(str::to_string);
    let Some(name) = name else {
        return String::new();
    };
    let component = &doc["components"]["schemas"][name.as_str()];
    let mut out = String::new();
    if let Some(text) = component["description"].as_str() {
        out.push_str(&format!(" {}", flow(text)));
    }
    let Some(props) = component["properties"].as_object() else {
        return out;
    };
    let required = |n: &str| {
        component["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == n))
    };
    if props.len() > 8 {
        let names: Vec<String> = props.keys().map(|n| format!("`{n}`")).collect();
        out.push_str(&format!(" Fields, each optional: {}.", names.join(", ")));
        return out;
    }
    for (field, p) in props {
        let kind = schema_text(p);
        let need = if required(field) { ", required" } else { "" };
        out.push_str(&format!("\n  - `{field}` ({kind}{need})"));
        let text = flow(text_of(p));
        if !text.is_empty() {
            out.push_str(&format!(": {text}"));
        }
    }
    out
}

/// The media types and schemas of an answer: "`ChunkList` as `application/json`".
fn contents(answer: &Value) -> String {
    answer["content"]
        .as_object()
        .map(|c| {
            c.iter()
                .map(|(media, v)| {
                    if v["schema"].is_null() {
                        format!("`{media}`")
                    } else {
                        format!("{} as `{media}`", schema_text(&v["schema"]))
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// A schema in a few words: a component's name, a type, choices, alternatives.
fn schema_text(schema: &Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        return format!("`{}`", r.rsplit('/').next().unwrap_or(r));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema[key].as_array() {
            let words: Vec<String> = alts.iter().map(schema_text).collect();
            return words.join(" or ");
        }
    }
    if schema["format"] == "binary"
        || (schema["type"] == "array" && schema["items"]["minimum"] == 0)
    {
        return "bytes".to_string();
    }
    if schema["type"] == "array" {
        return format!("array of {}", schema_text(&schema["items"]));
    }
    let ty = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_string(),
    };
    match schema["enum"].as_array() {
        Some(choices) => {
            let names: Vec<String> = choices
                .iter()
                .map(|c| format!("`{}`", c.as_str().map_or(c.to_string(), str::to_string)))
                .collect();
            format!("{ty}: {}", names.join(", "))
        }
        None => ty,
    }
}

fn text_of(v: &Value) -> &str {
    v["description"].as_str().unwrap_or("")
}

/// Doc-comment text as Markdown: the lines of a paragraph joined, paragraphs kept.
fn flow(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::generated::{check, splice};

    const MARKERS: &str = "generated from the OpenAPI document";

    #[test]
    fn the_http_api_page_is_up_to_date() {
        let stale = check("docs/http-api.md", |have| {
            splice(have, MARKERS, &markdown()).expect("docs/http-api.md has the OpenAPI markers")
        });
        assert!(
            stale.is_none(),
            "docs/http-api.md is stale: regenerate with \
             `SHUFFLECAST_BLESS=1 cargo test --lib http::api_docs`"
        );
    }

    #[test]
    fn every_route_is_on_the_page_once_in_a_group_with_who_may_call_it() {
        let page = markdown();
        let doc = serde_json::to_value(document()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                let heading = format!("### `{} {path}`\n", method.to_uppercase());
                assert_eq!(page.matches(&heading).count(), 1, "{heading}");
            }
        }
        assert!(!page.contains("\n## Other\n"), "a path in no group");
        let section = |h: &str| {
            let at = page.find(h).unwrap();
            let rest = &page[at + h.len()..];
            rest[..rest.find("\n### ").unwrap_or(rest.len())].to_string()
        };
        let delete = section("### `DELETE /api/chunks/{id}`");
        assert!(delete.contains("**Who**: the admin token"), "{delete}");
        assert!(delete.contains("`403`"), "{delete}");
        let chunks = section("### `GET /api/chunks`");
        assert!(chunks.contains("**Who**: viewers"), "{chunks}");
        assert!(
            chunks.contains("`sort` (string: `created`, `aired`"),
            "{chunks}"
        );
        assert!(section("### `GET /healthz`").contains("**Who**: anyone"));
        let play = section("### `POST /api/play_chunk`");
        assert!(
            play.contains("**Body**: `PlayChunkRequest` as `application/json`."),
            "{play}"
        );
        let generate = section("### `POST /api/generate_chunk`");
        assert!(
            generate.contains("`GenerateRequest` or null as `application/json`, optional"),
            "{generate}"
        );
        assert_eq!(markdown(), page, "the same document every time");
    }
}
