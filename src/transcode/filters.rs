//! How a source is normalized before anything else sees it, the same for clips
//! and posters: side data dropped, deinterlaced, converted to BT.709 (HDR
//! tone-mapped first).

use super::probe::ProbeInfo;

/// The first filters of every source: side data dropped (captions, HDR metadata,
/// stereo 3D, user data: an encoder would copy them into SEI or VUI), then
/// deinterlacing when the source is interlaced, or of every frame with
/// `deinterlace_all` (a retry whose first clip came out field-coded: see `verify`).
pub(super) fn source_filters(info: &ProbeInfo, deinterlace_all: bool) -> Vec<String> {
    let mut f = vec!["sidedata=mode=delete".to_string()];
    if deinterlace_all {
        f.push("yadif=mode=send_frame:parity=auto:deint=all".to_string());
    } else if info.interlaced {
        // send_frame keeps the frame rate; deint=interlaced leaves progressive frames alone.
        f.push("yadif=mode=send_frame:parity=auto:deint=interlaced".to_string());
    }
    f
}

/// The colour conversion options of the fit `scale`: to BT.709 limited range, except
/// for HDR, which [`tone_map`] converts (a matrix change on PQ or HLG values would be
/// wrong, so scale only resizes those).
pub(super) fn scale_colour(info: &ProbeInfo) -> &'static str {
    if info.color.hdr_transfer().is_some() {
        ""
    } else {
        ":out_color_matrix=bt709:out_range=tv"
    }
}

/// PQ and HLG sources to BT.709 SDR (zimg's linearisation, then the Hable curve), so
/// they do not look washed out; `None` for SDR sources.
pub(super) fn tone_map(info: &ProbeInfo) -> Option<String> {
    let transfer = info.color.hdr_transfer()?;
    let c = &info.color;
    let primaries = c
        .primaries
        .as_deref()
        .filter(|p| *p == "bt2020")
        .unwrap_or("bt2020");
    let matrix = match c.matrix.as_deref() {
        Some("bt2020c") => "bt2020c",
        _ => "bt2020nc",
    };
    let range = if c.full_range() { "full" } else { "limited" };
    Some(format!(
        "zscale=tin={transfer}:pin={primaries}:min={matrix}:rin={range}:t=linear:npl=100,\
         format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,\
         zscale=t=bt709:m=bt709:r=limited"
    ))
}
