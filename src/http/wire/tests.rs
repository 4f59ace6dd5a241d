//! The wire types' own checks: event names, reasons, digits.
use super::*;
use crate::schedule::generator::{GeneratorState, GeneratorStatus};
use crate::system::Usage as DomainUsage;

/// The SSE names are the serde tags the schema documents.
#[test]
fn event_names_are_the_schema_tags() {
    let counts = LibraryCounts {
        present: 1,
        usable: 1,
        unusable: 0,
        pending: 0,
    };
    let tagged = serde_json::to_value(ServerEvent::Library(counts.clone())).unwrap();
    assert_eq!(tagged["event"], "library");
    let jobs = Jobs::from(GeneratorStatus::default());
    assert_eq!(
        serde_json::to_value(ServerEvent::Jobs(jobs)).unwrap()["event"],
        "jobs"
    );
    let sse = format!("{:?}", ServerEvent::Library(counts).to_sse("news"));
    assert!(sse.contains("event: library"), "{sse}");
    assert!(sse.contains(r#"\"channel\":\"news\""#), "{sse}");
}

#[test]
fn a_stalled_generator_says_why_and_others_have_no_reason() {
    let stalled = Jobs::from(GeneratorStatus {
        state: GeneratorState::Stalled {
            reason: "disk full".into(),
        },
        ..Default::default()
    });
    let v = serde_json::to_value(&stalled).unwrap();
    assert_eq!(v["state"], "stalled");
    assert_eq!(v["reason"], "disk full");
    let idle = serde_json::to_value(Jobs::from(GeneratorStatus::default())).unwrap();
    assert_eq!(idle["state"], "idle");
    assert!(idle.get("reason").is_none());
    assert!(idle["next_run"].is_null());
}

#[test]
fn f32_samples_keep_their_f64_digits() {
    let u = Usage::from(DomainUsage {
        cpu_percent: 98.753_11,
        ..Default::default()
    });
    let text = serde_json::to_string(&u).unwrap();
    assert!(
        text.contains(&format!("\"cpu_percent\":{}", f64::from(98.753_11f32))),
        "{text}"
    );
}
