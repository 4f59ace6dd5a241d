//! What differs between two clips' H.264 parameter sets, field by field.
//!
//! The engine only needs to know *that* a clip's SPS/PPS differ from the last one's
//! (a discontinuity); an operator needs to know *what* differs, in the names of the
//! H.264 spec (`vui_parameters.chroma_loc_info`, `level_idc`), to see which property
//! of a source leaked into the bitstream. h264-reader parses the sets; every leaf of
//! its parsed structure is compared, so no field can differ unnamed.

use std::collections::BTreeMap;
use std::fmt;

use h264_reader::Context;
use h264_reader::nal::pps::PicParameterSet;
use h264_reader::nal::sps::SeqParameterSet;
use h264_reader::rbsp::{BitReader, decode_nal};

use super::h264::{self, ParameterSets};

/// One field that differs between the reference and a clip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDiff {
    /// The field's path in the parsed set, e.g. `sps.vui_parameters.chroma_loc_info`.
    pub field: String,
    /// Its value in the reference (`absent` when the reference lacks the field).
    pub reference: String,
    /// Its value in the clip.
    pub clip: String,
}

impl fmt::Display for FieldDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} instead of {}",
            self.field, self.clip, self.reference
        )
    }
}

/// Why a clip's parameter sets are not the reference's, as a list of fields (never
/// empty: bytes that differ where every parsed field agrees are reported as such).
pub fn differences(reference: &ParameterSets, clip: &ParameterSets) -> Vec<FieldDiff> {
    if reference == clip {
        return Vec::new();
    }
    let (a, b) = (fields(reference), fields(clip));
    // Each differing leaf is reported at the shallowest field that is a leaf on
    // either side, so `chroma_loc_info: None` against its two members is one line.
    let mut reported: Vec<String> = Vec::new();
    for k in a.keys().chain(b.keys()) {
        if a.get(k) == b.get(k) {
            continue;
        }
        let field = ancestors(k)
            .find(|p| a.contains_key(*p) || b.contains_key(*p))
            .unwrap_or(k)
            .to_string();
        if !reported.contains(&field) {
            reported.push(field);
        }
    }
    reported.sort();
    let mut out: Vec<FieldDiff> = reported
        .into_iter()
        .map(|field| FieldDiff {
            reference: value_at(&a, &field),
            clip: value_at(&b, &field),
            field,
        })
        .filter(|d| d.reference != d.clip)
        .collect();
    if out.is_empty() {
        out.push(FieldDiff {
            field: "bytes".into(),
            reference: format!(
                "{} SPS / {} PPS bytes",
                len(&reference.sps),
                len(&reference.pps)
            ),
            clip: format!("{} SPS / {} PPS bytes", len(&clip.sps), len(&clip.pps)),
        });
    }
    out
}

/// The differences as one line for logs and the library view.
pub fn describe(diffs: &[FieldDiff]) -> String {
    diffs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The parameter sets every IDR access unit of a clip carries: `Err` when the clip
/// has none, or when its IDRs disagree among themselves.
pub fn clip_parameter_sets<'a>(
    aus: impl IntoIterator<Item = &'a [u8]>,
) -> Result<ParameterSets, String> {
    let mut found: Option<ParameterSets> = None;
    let mut idrs = 0;
    for au in aus {
        if !h264::is_idr(au) {
            continue;
        }
        idrs += 1;
        let Some(sets) = h264::parameter_sets(au) else {
            return Err(format!("IDR frame {idrs} carries no SPS/PPS"));
        };
        match &found {
            None => found = Some(sets),
            Some(first) if *first != sets => {
                return Err(format!(
                    "IDR frame {idrs} carries other parameters than the first: {}",
                    describe(&differences(first, &sets))
                ));
            }
            Some(_) => {}
        }
    }
    found.ok_or_else(|| "no IDR frame with SPS/PPS".to_string())
}

fn len(sets: &[Vec<u8>]) -> usize {
    sets.iter().map(Vec::len).sum()
}

/// `key` and its ancestors, shallowest first (`a`, `a.b`, `a.b.c`).
fn ancestors(key: &str) -> impl Iterator<Item = &str> {
    key.match_indices('.')
        .map(|(i, _)| &key[..i])
        .chain(std::iter::once(key))
}

/// What `map` says of `field`: its value, or its members (`{a: 1, b: 2}`), or
/// `absent`.
fn value_at(map: &BTreeMap<String, String>, field: &str) -> String {
    if let Some(v) = map.get(field) {
        return v.clone();
    }
    let prefix = format!("{field}.");
    let members: Vec<String> = map
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, v)| format!("{}: {v}", &k[prefix.len()..]))
        .collect();
    if members.is_empty() {
        "absent".to_string()
    } else {
        format!("{{{}}}", members.join(", "))
    }
}

/// Every parsed field of the sets as `path = value`; a set that does not parse
/// becomes one `…unparsed` field holding its bytes, so it still compares.
fn fields(sets: &ParameterSets) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut ctx = Context::new();
    for (i, nal) in sets.sps.iter().enumerate() {
        let prefix = indexed("sps", i, sets.sps.len());
        match decode_nal(nal)
            .ok()
            .and_then(|rbsp| SeqParameterSet::from_bits(BitReader::new(&rbsp[..])).ok())
        {
            Some(sps) => {
                flatten(&format!("{sps:#?}"), &prefix, &mut out);
                ctx.put_seq_param_set(sps);
            }
            None => {
                out.insert(format!("{prefix}.unparsed"), hex(nal));
            }
        }
    }
    for (i, nal) in sets.pps.iter().enumerate() {
        let prefix = indexed("pps", i, sets.pps.len());
        match decode_nal(nal)
            .ok()
            .and_then(|rbsp| PicParameterSet::from_bits(&ctx, BitReader::new(&rbsp[..])).ok())
        {
            Some(pps) => flatten(&format!("{pps:#?}"), &prefix, &mut out),
            None => {
                out.insert(format!("{prefix}.unparsed"), hex(nal));
            }
        }
    }
    out.insert("sps.count".into(), sets.sps.len().to_string());
    out.insert("pps.count".into(), sets.pps.len().to_string());
    out
}

fn indexed(kind: &str, i: usize, n: usize) -> String {
    if n == 1 {
        kind.to_string()
    } else {
        format!("{kind}[{i}]")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Turns `{:#?}` output into leaves: `name: value,` lines become `path.name = value`;
/// nameless values (inside `Some(…)`, tuple structs) belong to the enclosing name.
fn flatten(pretty: &str, root: &str, out: &mut BTreeMap<String, String>) {
    // One entry per open level; nameless levels (`Some(`, a list) are empty and add
    // nothing to the key.
    let mut path: Vec<String> = vec![root.to_string()];
    for line in pretty.lines().skip(1) {
        let t = line.trim().trim_end_matches(',');
        if t.is_empty() {
            continue;
        }
        if t.starts_with(['}', ')', ']']) {
            path.pop();
            continue;
        }
        let (name, value) = match t.split_once(": ") {
            Some((n, v)) if is_ident(n) => (n, v),
            _ => ("", t),
        };
        if value.ends_with(['{', '(', '[']) {
            // A tuple variant (`Extended(3, 4)`) keeps its name, so the values say
            // what they are; `Some(` and struct names add nothing.
            let label = value.trim_end_matches(['{', '(', '[']).trim();
            let segment = match (name, label) {
                ("", "Some") => "",
                ("", l) if value.ends_with('(') => l,
                (n, _) => n,
            };
            path.push(segment.to_string());
            continue;
        }
        let key = path
            .iter()
            .map(String::as_str)
            .chain([name])
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(".");
        out.entry(key)
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.to_string());
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_debug_flattens_to_named_leaves() {
        // Read through Debug only, which dead-code analysis does not count.
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Inner {
            top: u8,
            bottom: u8,
        }
        #[derive(Debug)]
        #[allow(dead_code)]
        enum Ratio {
            Square,
            Extended(u16, u16),
        }
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Vui {
            chroma: Option<Inner>,
            ratio: Option<Ratio>,
            flag: bool,
        }
        let mut out = BTreeMap::new();
        let v = Vui {
            chroma: Some(Inner { top: 2, bottom: 3 }),
            ratio: Some(Ratio::Extended(4, 3)),
            flag: true,
        };
        flatten(&format!("{v:#?}"), "sps", &mut out);
        let got: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            [
                ("sps.chroma.bottom", "3"),
                ("sps.chroma.top", "2"),
                ("sps.flag", "true"),
                ("sps.ratio.Extended", "4, 3"),
            ]
        );
        let mut none = BTreeMap::new();
        let v = Vui {
            chroma: None,
            ratio: Some(Ratio::Square),
            flag: true,
        };
        flatten(&format!("{v:#?}"), "sps", &mut none);
        assert_eq!(none["sps.chroma"], "None");
        assert_eq!(none["sps.ratio"], "Square");
        // A field present on one side only is one line, with the members it has.
        assert_eq!(value_at(&out, "sps.chroma"), "{bottom: 3, top: 2}");
        assert_eq!(value_at(&none, "sps.chroma"), "None");
        assert_eq!(value_at(&none, "sps.missing"), "absent");
    }

    #[test]
    fn unparsable_sets_still_compare_by_their_bytes() {
        let a = ParameterSets {
            sps: vec![vec![0x67, 1, 2]],
            pps: vec![vec![0x68, 9]],
        };
        let b = ParameterSets {
            sps: vec![vec![0x67, 1, 3]],
            pps: vec![vec![0x68, 9]],
        };
        assert!(differences(&a, &a).is_empty());
        let d = differences(&a, &b);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "sps.unparsed");
        assert_eq!(
            (d[0].reference.as_str(), d[0].clip.as_str()),
            ("670102", "670103")
        );
        assert!(describe(&d).contains("sps.unparsed: 670103 instead of 670102"));
    }

    #[test]
    fn a_clip_whose_idrs_disagree_is_refused() {
        let au = |sps: u8| {
            vec![
                0, 0, 0, 1, 0x67, sps, 0, 0, 0, 1, 0x68, 1, 0, 0, 1, 0x65, 0x88,
            ]
        };
        let (one, two) = (au(1), au(2));
        assert!(clip_parameter_sets([&one[..], &one[..]]).is_ok());
        let err = clip_parameter_sets([&one[..], &two[..]]).unwrap_err();
        assert!(err.contains("IDR frame 2"), "{err}");
        assert!(clip_parameter_sets([&[0u8, 0, 1, 0x41, 1][..]]).is_err());
    }
}
