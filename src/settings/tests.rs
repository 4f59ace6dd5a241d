//! Tests of the settings table, its rules and its API view.

use std::path::PathBuf;

use serde_json::json;

use super::*;

fn patch(s: &str) -> Result<Patch, Invalid> {
    Patch::from_map(serde_json::from_str(s).unwrap())
}

#[test]
fn the_table_is_consistent() {
    let mut keys = std::collections::HashSet::new();
    let mut vars = std::collections::HashSet::new();
    for s in SPECS {
        assert!(keys.insert(s.key), "{} declared twice", s.key);
        for v in s.meta.env {
            assert!(vars.insert(*v), "{v} used twice");
        }
        assert!(!s.meta.env.is_empty(), "{}: no variable", s.key);
        assert!(!s.meta.group.is_empty(), "{}: no group", s.key);
        if s.meta.apply.editable() {
            assert!(
                !s.meta.label.is_empty(),
                "{}: editable without a label",
                s.key
            );
            assert!(!s.meta.secret, "{}: a secret on the wire", s.key);
        }
        if s.meta.min.is_some() || s.meta.max.is_some() {
            assert!(
                s.ops.number,
                "{}: bounds on a value that is not a number",
                s.key
            );
        }
    }
    validate(&Config::default(), Scope::All).expect("the defaults are valid");
}

#[test]
fn patches_are_checked_field_by_field_then_as_a_whole() {
    let c = Config::default();
    for (p, field) in [
        (r#"{"clip_min": 0.1}"#, "clip_min"),
        (r#"{"clip_min": 9, "clip_max": 8}"#, "clip_max"),
        (r#"{"ready_chunks": 56}"#, "ready_chunks"),
        (r#"{"max_chunks": 100001}"#, "max_chunks"),
        (r#"{"width": 641}"#, "width"),
        (r#"{"fps": 7}"#, "fps"),
        (r#"{"music_loudness": 3}"#, "music_loudness"),
        (r#"{"renditions": "720p"}"#, "renditions"),
        (
            r#"{"height": 480, "renditions": "480p@900,360p"}"#,
            "renditions",
        ),
    ] {
        let next = c.with(&patch(p).unwrap());
        assert_eq!(
            validate(&next, Scope::Editable).unwrap_err().0.key,
            field,
            "{p}"
        );
    }
    for (p, field) in [
        (r#"{"schedule": "at noon"}"#, "schedule"),
        (r#"{"hw_accel": "amd"}"#, "hw_accel"),
        (r#"{"disk_budget": 5}"#, "disk_budget"),
        (r#"{"color_grade": "sepia"}"#, "color_grade"),
        (r#"{"clip_min": "six"}"#, "clip_min"),
        (r#"{"renditions": "480p,480p"}"#, "renditions"),
        (r#"{"renditions": "100p"}"#, "renditions"),
    ] {
        assert_eq!(patch(p).unwrap_err().field, Some(field), "{p}");
    }
    assert!(patch(r#"{"nope": 1}"#).is_err(), "unknown fields refused");
    assert!(
        patch(r#"{"admin_token": "12345678"}"#).is_err(),
        "not editable"
    );
    let next = c.with(&patch(r#"{"clip_min": 3, "disk_budget": 0, "width": 640}"#).unwrap());
    assert_eq!(next.channel.clip_min, 3.0);
    assert_eq!(next.channel.disk_budget, None);
    assert_eq!(next.output.profile().width, 640);
    assert_eq!(next.differences(&c, Apply::Restart), ["width"]);
    let next = c.with(&patch(r#"{"renditions": "360p, 480p@1400"}"#).unwrap());
    assert_eq!(next.channel.renditions.to_string(), "480p@1400,360p");
    let sizes: Vec<(u32, u32)> = next
        .channel
        .rungs(&next.output)
        .iter()
        .map(|p| (p.width, p.height))
        .collect();
    assert_eq!(sizes, [(1280, 720), (854, 480), (640, 360)]);
    assert_eq!(Config::default().channel.renditions.to_string(), "auto");
}

#[test]
fn a_channel_patch_takes_every_channel_setting_and_only_those() {
    let read = |s: &str| Patch::channel_from_map(serde_json::from_str(s).unwrap());
    let p =
        read(r#"{"videos": ["/v"], "audio": "/m", "clip_min": 4, "channel_name": "N"}"#).unwrap();
    let c = Config::default().with(&p);
    assert_eq!(c.channel.videos, [PathBuf::from("/v")]);
    assert_eq!(c.channel.audio, Some(PathBuf::from("/m")));
    assert_eq!(p.values()["clip_min"], json!(4.0), "as the type writes it");
    assert_eq!(
        read(r#"{"clip_min": "x"}"#).unwrap_err().field,
        Some("clip_min")
    );
    for other in [r#"{"width": 640}"#, r#"{"data": "/d"}"#, r#"{"nope": 1}"#] {
        assert_eq!(read(other).unwrap_err().field, None, "{other}");
    }
    assert!(
        patch(r#"{"videos": ["/v"]}"#).is_err(),
        "not through the settings API"
    );
}

#[test]
fn the_default_channel_is_a_slug() {
    let mut c = Config::default();
    c.server.default_channel = Some("Nature!".into());
    assert_eq!(
        validate(&c, Scope::All).unwrap_err().0.key,
        "default_channel"
    );
    c.server.default_channel = Some("nature".into());
    validate(&c, Scope::All).unwrap();
}

#[test]
fn bounds_read_as_words() {
    let m = |k| spec(k).unwrap().bounds_text();
    assert_eq!(m("clip_min"), "must be at least 0.5 seconds");
    assert_eq!(m("generator_jobs"), "must be between 1 and 16");
    assert_eq!(
        m("width"),
        "must be an even number between 16 and 7680 pixels"
    );
}

#[test]
fn the_schema_lists_every_editable_setting_in_order() {
    let s = schema();
    let order: Vec<&str> = s["x-order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(order.len(), view(&Config::default()).0.len());
    assert_eq!(order[0], "delete_audio_files");
    assert!(order.contains(&"clip_min"));
    assert_eq!(order.last(), Some(&"music_loudness"));
    assert_eq!(s["properties"]["color_grade"]["enum"][1], "moody");
    assert_eq!(s["properties"]["clip_min"]["x-apply"], "live");
    assert_eq!(s["properties"]["width"]["multipleOf"], 2.0);
    assert!(s["properties"].get("admin_token").is_none());
}
