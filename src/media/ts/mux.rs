//! The channel's live muxer: one continuous transport stream, cut into HLS segments
//! by the caller, with continuity counters that carry on across segments.

use super::{AUDIO_PID, PACKET_SIZE, PMT_PID, PROGRAM_NUMBER, VIDEO_PID};
use crate::media::Ticks;
use crate::media::adts;
use mpeg2ts::es::{StreamId, StreamType};
use mpeg2ts::pes::PesHeader;
use mpeg2ts::time::{ClockReference, Timestamp};
use mpeg2ts::ts::payload::{self, Pat, Pes, Pmt};
use mpeg2ts::ts::{
    AdaptationField, ContinuityCounter, EsInfo, Pid, ProgramAssociation,
    TransportScramblingControl, TsHeader, TsPacket, TsPacketWriter, TsPayload, VersionNumber,
    WriteTsPacket,
};

/// How far the PCR runs behind the DTS of the access unit it is sent with: the
/// decoder's buffering time, 0.7 s like ffmpeg's default `-muxdelay`.
pub const PCR_LEAD: Ticks = Ticks(63_000);

/// Bytes after the 4-byte TS header.
const PAYLOAD_SIZE: usize = PACKET_SIZE - 4;
/// PES header bytes up to and including PES_header_data_length.
const PES_FIXED_HEADER: usize = 9;
/// Bytes of one PTS or DTS field.
const TIMESTAMP_SIZE: usize = 5;
/// Adaptation field with a PCR: length byte, flags byte, 6 PCR bytes.
const PCR_FIELD_SIZE: usize = 8;
/// Largest audio payload whose length still fits PES_packet_length (which counts the
/// 3 header bytes after it and the PTS too).
const MAX_AUDIO_PES_PAYLOAD: usize = u16::MAX as usize - 3 - TIMESTAMP_SIZE;

const VIDEO_STREAM_ID: u8 = 0xE0;
const AUDIO_STREAM_ID: u8 = 0xC0;

/// Index of each PID's continuity counter.
#[derive(Copy, Clone)]
enum Slot {
    Pat = 0,
    Pmt = 1,
    Video = 2,
    Audio = 3,
}

impl Slot {
    fn pid(self) -> u16 {
        match self {
            Slot::Pat => Pid::PAT,
            Slot::Pmt => PMT_PID,
            Slot::Video => VIDEO_PID,
            Slot::Audio => AUDIO_PID,
        }
    }
}

/// Writes the channel's single-program transport stream (H.264 + ADTS AAC), packet
/// by packet, into caller-provided buffers.
#[derive(Debug, Clone)]
pub struct TsMuxer {
    /// Next continuity counter per [`Slot`].
    cc: [u8; 4],
    /// The PAT and PMT never change, so they are serialized once and only their
    /// continuity counter is patched per segment.
    pat: [u8; PACKET_SIZE],
    pmt: [u8; PACKET_SIZE],
    /// The next packet of each [`Slot`] carries discontinuity_indicator: its
    /// continuity counter (and time base) follow no packet of this stream.
    discontinuity: [bool; 4],
}

impl Default for TsMuxer {
    fn default() -> Self {
        Self::new()
    }
}

impl TsMuxer {
    /// A muxer at the start of a stream: all continuity counters at 0.
    pub fn new() -> Self {
        Self::with_audio(true)
    }

    /// [`TsMuxer::new`], its program without the audio stream when `audio` is
    /// false (a preview of clips, which carry no audio: a declared stream with no
    /// packets would be reported, and waited for, by players).
    pub fn with_audio(audio: bool) -> Self {
        let pat = Pat {
            transport_stream_id: 1,
            version_number: VersionNumber::new(),
            table: vec![ProgramAssociation {
                program_num: PROGRAM_NUMBER,
                program_map_pid: pid(PMT_PID),
            }],
        };
        let pmt = Pmt {
            program_num: PROGRAM_NUMBER,
            pcr_pid: Some(pid(VIDEO_PID)),
            version_number: VersionNumber::new(),
            program_info: Vec::new(),
            es_info: vec![
                EsInfo {
                    stream_type: StreamType::H264,
                    elementary_pid: pid(VIDEO_PID),
                    descriptors: Vec::new(),
                },
                EsInfo {
                    stream_type: StreamType::AdtsAac,
                    elementary_pid: pid(AUDIO_PID),
                    descriptors: Vec::new(),
                },
            ],
        };
        let mut pmt = pmt;
        if !audio {
            pmt.es_info.truncate(1);
        }
        TsMuxer {
            cc: [0; 4],
            pat: serialize_psi(Slot::Pat, TsPayload::Pat(pat)),
            pmt: serialize_psi(Slot::Pmt, TsPayload::Pmt(pmt)),
            discontinuity: [false; 4],
        }
    }

    /// Flags the next packet of every PID with discontinuity_indicator (13818-1
    /// 2.4.3.5). For a muxer that continues another's stream, as after a restart:
    /// its counters start again at 0, and a reader of the continuous transport
    /// stream (not just of HLS segments, which carry EXT-X-DISCONTINUITY) must not
    /// take that for lost packets.
    pub fn mark_discontinuity(&mut self) {
        self.discontinuity = [true; 4];
    }

    /// Starts a segment: writes a PAT then a PMT (H.264 stream_type 0x1B on
    /// VIDEO_PID, ADTS AAC stream_type 0x0F on AUDIO_PID, PCR on VIDEO_PID).
    pub fn begin_segment(&mut self, out: &mut Vec<u8>) {
        let pat_cc = self.next_cc(Slot::Pat);
        let pmt_cc = self.next_cc(Slot::Pmt);
        out.reserve(2 * PACKET_SIZE);
        for (slot, cc) in [(Slot::Pat, pat_cc), (Slot::Pmt, pmt_cc)] {
            let packet = match slot {
                Slot::Pat => &self.pat,
                _ => &self.pmt,
            };
            let start = out.len();
            if std::mem::take(&mut self.discontinuity[slot as usize]) {
                out.extend_from_slice(&with_discontinuity(packet));
            } else {
                out.extend_from_slice(packet);
            }
            out[start + 3] = (out[start + 3] & 0xF0) | cc;
        }
    }

    /// Writes one video access unit (Annex B) as one PES, with a PCR of
    /// `dts - PCR_LEAD` in its first packet and random_access_indicator set when
    /// `keyframe`. Timestamps are on the unwrapped timeline.
    pub fn write_video(
        &mut self,
        out: &mut Vec<u8>,
        pts: Ticks,
        dts: Ticks,
        keyframe: bool,
        annexb: &[u8],
    ) {
        let pcr_base = Ticks(dts.0.saturating_sub(PCR_LEAD.0)).wrapped();
        let adaptation_field = AdaptationField {
            discontinuity_indicator: std::mem::take(&mut self.discontinuity[Slot::Video as usize]),
            random_access_indicator: keyframe,
            es_priority_indicator: false,
            pcr: Some(ClockReference::new(pcr_base * 300).expect("a 33-bit PCR base is in range")),
            opcr: None,
            splice_countdown: None,
            transport_private_data: Vec::new(),
            extension: None,
        };
        // Like ffmpeg, DTS is only written when it differs: the PES stays 5 bytes
        // shorter for every frame without reordering.
        let header = pes_header(VIDEO_STREAM_ID, pts, (dts != pts).then_some(dts));
        // PES_packet_length 0 ("unbounded") is allowed for video only, and needed:
        // an I-frame can exceed 64 KiB.
        self.write_pes(out, Slot::Video, Some(adaptation_field), header, 0, annexb);
    }

    /// Writes consecutive ADTS frames as one PES whose PTS is `pts`, the PTS of the
    /// first frame. Payloads too long for PES_packet_length are split at frame
    /// boundaries into several PES, each with its own PTS.
    pub fn write_audio(&mut self, out: &mut Vec<u8>, pts: Ticks, adts_frames: &[u8]) {
        if adts_frames.len() <= MAX_AUDIO_PES_PAYLOAD {
            self.write_audio_pes(out, pts, adts_frames);
            return;
        }
        let mut start = 0;
        let mut end = 0;
        let mut samples = 0u64;
        let mut start_samples = 0u64;
        let mut sample_rate = 0u32;
        while end < adts_frames.len() {
            let Ok(header) = adts::parse_header(&adts_frames[end..]) else {
                break;
            };
            if end + header.frame_length - start > MAX_AUDIO_PES_PAYLOAD {
                let offset = pts_offset(start_samples, sample_rate);
                self.write_audio_pes(out, pts + offset, &adts_frames[start..end]);
                start = end;
                start_samples = samples;
            }
            end += header.frame_length;
            samples += u64::from(header.raw_blocks) * adts::SAMPLES_PER_FRAME;
            sample_rate = header.sample_rate;
        }
        // Unparseable (or truncated) data cannot be split at frames; what is left goes
        // out whole rather than being dropped. Should it still be too long, its
        // PES_packet_length is 0 (strictly a video-only value): lenient demuxers such
        // as ffmpeg's read on to the next PES, which beats silently losing audio.
        let offset = pts_offset(start_samples, sample_rate);
        self.write_audio_pes(out, pts + offset, &adts_frames[start..]);
    }

    fn write_audio_pes(&mut self, out: &mut Vec<u8>, pts: Ticks, data: &[u8]) {
        let header = pes_header(AUDIO_STREAM_ID, pts, None);
        let pes_packet_len = if data.len() <= MAX_AUDIO_PES_PAYLOAD {
            (data.len() + 3 + TIMESTAMP_SIZE) as u16
        } else {
            0
        };
        // Audio packets carry no adaptation field, but for the flag.
        let adaptation_field =
            std::mem::take(&mut self.discontinuity[Slot::Audio as usize]).then(|| {
                AdaptationField {
                    discontinuity_indicator: true,
                    random_access_indicator: false,
                    es_priority_indicator: false,
                    pcr: None,
                    opcr: None,
                    splice_countdown: None,
                    transport_private_data: Vec::new(),
                    extension: None,
                }
            });
        self.write_pes(
            out,
            Slot::Audio,
            adaptation_field,
            header,
            pes_packet_len,
            data,
        );
    }

    fn next_cc(&mut self, slot: Slot) -> u8 {
        let cc = &mut self.cc[slot as usize];
        let current = *cc;
        *cc = (current + 1) & 0x0F;
        current
    }

    /// Packetizes one PES: the first packet (PES header, optional adaptation field)
    /// through mpeg2ts, the rest by hand.
    fn write_pes(
        &mut self,
        out: &mut Vec<u8>,
        slot: Slot,
        adaptation_field: Option<AdaptationField>,
        header: PesHeader,
        pes_packet_len: u16,
        data: &[u8],
    ) {
        let pes_header_size = PES_FIXED_HEADER
            + TIMESTAMP_SIZE
                * (usize::from(header.pts.is_some()) + usize::from(header.dts.is_some()));
        let adaptation_size = match &adaptation_field {
            Some(field) if field.pcr.is_some() => PCR_FIELD_SIZE,
            Some(_) => 2,
            None => 0,
        };
        let first_len = data
            .len()
            .min(PAYLOAD_SIZE - adaptation_size - pes_header_size);
        let (first, rest) = data.split_at(first_len);

        out.reserve((rest.len().div_ceil(PAYLOAD_SIZE) + 1) * PACKET_SIZE);
        let pid_value = slot.pid();
        let packet = TsPacket {
            header: ts_header(pid_value, self.next_cc(slot)),
            adaptation_field,
            payload: Some(TsPayload::PesStart(Pes {
                header,
                pes_packet_len,
                data: payload::Bytes::new(first).expect("first chunk fits one packet"),
            })),
        };
        TsPacketWriter::new(&mut *out)
            .write_ts_packet(&packet)
            .expect("PES start packet sized to fit");

        // The continuation packets are the hot path (about 4000 per 2 s segment at
        // 3 Mb/s). Going through mpeg2ts would copy each payload twice into
        // intermediate arrays and make a dozen small io::Write calls per packet;
        // their layout is trivial (4-byte header, optional adaptation-field stuffing,
        // payload), so they are written straight into `out`.
        for chunk in rest.chunks(PAYLOAD_SIZE) {
            let cc = self.next_cc(slot);
            write_continuation(out, pid_value, cc, chunk);
        }
    }
}

/// One payload-continuation TS packet; a short `chunk` is preceded by
/// adaptation-field stuffing so the packet is still 188 bytes.
fn write_continuation(out: &mut Vec<u8>, pid: u16, cc: u8, chunk: &[u8]) {
    debug_assert!(!chunk.is_empty() && chunk.len() <= PAYLOAD_SIZE);
    let stuffing = PAYLOAD_SIZE - chunk.len();
    // adaptation_field_control: 01 payload only, 11 adaptation field then payload.
    let control = if stuffing == 0 { 0x10 } else { 0x30 };
    out.extend_from_slice(&[0x47, (pid >> 8) as u8 & 0x1F, pid as u8, control | cc]);
    if stuffing > 0 {
        out.push((stuffing - 1) as u8);
        if stuffing > 1 {
            // Flags byte (nothing set), then stuffing bytes.
            out.push(0);
            out.resize(out.len() + stuffing - 2, 0xFF);
        }
    }
    out.extend_from_slice(chunk);
}

/// Serializes a PSI packet with continuity counter 0, to be patched on each use.
fn serialize_psi(slot: Slot, payload: TsPayload) -> [u8; PACKET_SIZE] {
    let packet = TsPacket {
        header: ts_header(slot.pid(), 0),
        adaptation_field: None,
        payload: Some(payload),
    };
    let mut writer = TsPacketWriter::new(Vec::with_capacity(PACKET_SIZE));
    writer
        .write_ts_packet(&packet)
        .expect("the channel's PAT and PMT fit one packet");
    let written = writer.into_stream();
    // mpeg2ts pads a short payload with adaptation-field stuffing. That is legal, but
    // PSI is conventionally padded with 0xFF after the section (ffmpeg and Apple's
    // segmenter do so), the form players are most tested against: keep mpeg2ts's
    // section and CRC, drop the adaptation field, and pad with 0xFF.
    let payload_start = if written[3] & 0x20 != 0 {
        5 + usize::from(written[4])
    } else {
        4
    };
    let section = &written[payload_start..];
    let mut bytes = [0xFF; PACKET_SIZE];
    bytes[..4].copy_from_slice(&written[..4]);
    bytes[3] = (bytes[3] & 0xCF) | 0x10; // adaptation_field_control: payload only
    bytes[4..4 + section.len()].copy_from_slice(section);
    bytes
}

/// A PSI packet (payload only, 0xFF padding) with a two-byte adaptation field
/// whose discontinuity_indicator is set; the section moves two bytes on, into the
/// padding.
fn with_discontinuity(packet: &[u8; PACKET_SIZE]) -> [u8; PACKET_SIZE] {
    let mut out = [0xFF; PACKET_SIZE];
    out[..4].copy_from_slice(&packet[..4]);
    out[3] = (out[3] & 0xCF) | 0x30; // adaptation_field_control: adaptation field and payload
    out[4] = 1; // adaptation_field_length: the flags byte
    out[5] = 0x80; // discontinuity_indicator
    out[6..].copy_from_slice(&packet[4..PACKET_SIZE - 2]);
    out
}

fn pes_header(stream_id: u8, pts: Ticks, dts: Option<Ticks>) -> PesHeader {
    PesHeader {
        stream_id: StreamId::new(stream_id),
        priority: false,
        data_alignment_indicator: true,
        copyright: false,
        original_or_copy: false,
        pts: Some(timestamp(pts)),
        dts: dts.map(timestamp),
        escr: None,
    }
}

fn timestamp(t: Ticks) -> Timestamp {
    Timestamp::new(t.wrapped()).expect("a wrapped timestamp fits 33 bits")
}

fn ts_header(pid_value: u16, cc: u8) -> TsHeader {
    TsHeader {
        transport_error_indicator: false,
        transport_priority: false,
        pid: pid(pid_value),
        transport_scrambling_control: TransportScramblingControl::NotScrambled,
        continuity_counter: ContinuityCounter::from_u8(cc).expect("a 4-bit counter"),
    }
}

fn pid(value: u16) -> Pid {
    Pid::new(value).expect("the channel's PIDs are 13-bit")
}

/// 90 kHz ticks spanned by `samples` at `sample_rate` Hz (0 when the rate is unknown).
fn pts_offset(samples: u64, sample_rate: u32) -> Ticks {
    if sample_rate == 0 {
        return Ticks(0);
    }
    Ticks(samples * crate::media::time::TICKS_PER_SECOND / u64::from(sample_rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::time::PTS_WRAP;
    use crate::media::ts::demux::{read_audio_pes, read_video_access_units};

    use crate::media::adts::test_frame as adts_frame;

    /// A synthetic access unit: AUD (+ SPS + PPS + IDR slice, or a non-IDR slice)
    /// padded with slice data to `len` bytes.
    fn access_unit(idr: bool, len: usize, seed: u8) -> Vec<u8> {
        let mut au = vec![0, 0, 0, 1, 0x09, 0xF0];
        if idr {
            au.extend([0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1F, 0xAC]);
            au.extend([0, 0, 0, 1, 0x68, 0xEE, 0x3C, 0x80]);
            au.extend([0, 0, 1, 0x65, 0x88]);
        } else {
            au.extend([0, 0, 1, 0x41, 0x9A]);
        }
        let mut x = seed;
        while au.len() < len {
            // Slice bytes that never form a start code (and include 0xFF, which must
            // survive: padding is never done with 0xFF inside the PES).
            x = x.wrapping_mul(31).wrapping_add(7) | 0x10;
            au.push(x);
        }
        au
    }

    struct Packet<'a> {
        pid: u16,
        start: bool,
        cc: u8,
        has_payload: bool,
        adaptation: &'a [u8],
        payload: &'a [u8],
    }

    fn packets(ts: &[u8]) -> Vec<Packet<'_>> {
        assert_eq!(ts.len() % PACKET_SIZE, 0);
        ts.chunks(PACKET_SIZE)
            .map(|p| {
                assert_eq!(p[0], 0x47);
                let control = (p[3] >> 4) & 0b11;
                let (adaptation, payload) = if control & 0b10 != 0 {
                    let len = usize::from(p[4]);
                    (&p[5..5 + len], &p[5 + len..])
                } else {
                    (&p[4..4], &p[4..])
                };
                Packet {
                    pid: u16::from_be_bytes([p[1] & 0x1F, p[2]]),
                    start: p[1] & 0x40 != 0,
                    cc: p[3] & 0x0F,
                    has_payload: control & 0b01 != 0,
                    adaptation,
                    payload,
                }
            })
            .collect()
    }

    fn pcr_base(adaptation: &[u8]) -> Option<u64> {
        if adaptation.len() < 7 || adaptation[0] & 0x10 == 0 {
            return None;
        }
        let raw = adaptation[1..7]
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        assert_eq!(raw & 0x1FF, 0, "PCR extension is 0");
        Some(raw >> 15)
    }

    #[test]
    fn round_trip_through_our_demuxer() {
        let mut mux = TsMuxer::new();
        let mut ts = Vec::new();
        let start = PTS_WRAP - 9_000;
        let mut written_video = Vec::new();
        let mut written_audio = Vec::new();
        let mut frame = 0u64;
        let mut audio_pts = start;
        let mut fill = 0u8;
        for segment in 0..4 {
            mux.begin_segment(&mut ts);
            for i in 0..20u64 {
                // Sizes cycle through every remainder mod 184, so the last packet of a
                // PES gets every possible amount of stuffing (0, 1, 2, ... bytes).
                let len = 30 + (frame as usize * 37) % 1200 + if i == 0 { 4000 } else { 0 };
                let keyframe = i == 0;
                let au = access_unit(keyframe, len, frame as u8);
                let dts = start + frame * 3000;
                let pts = dts + if keyframe { 0 } else { 6000 };
                mux.write_video(&mut ts, Ticks(pts), Ticks(dts), keyframe, &au);
                written_video.push((pts, dts, keyframe, au));
                frame += 1;
                if i % 3 == 0 {
                    let mut frames = Vec::new();
                    for k in 0..(1 + (i + segment) % 4) {
                        fill = fill.wrapping_add(1);
                        frames.extend(adts_frame(100 + (k as usize * 61) % 400, fill));
                    }
                    mux.write_audio(&mut ts, Ticks(audio_pts), &frames);
                    let count = adts::split_frames(&frames).unwrap().len() as u64;
                    written_audio.push((audio_pts, frames));
                    audio_pts += count * 1920;
                }
            }
        }

        let video = read_video_access_units(&ts).unwrap();
        assert_eq!(video.len(), written_video.len());
        for (read, (pts, dts, keyframe, au)) in video.iter().zip(&written_video) {
            assert_eq!((read.pts, read.dts, read.keyframe), (*pts, *dts, *keyframe));
            assert_eq!(read.data, au[..]);
        }
        let audio = read_audio_pes(&ts).unwrap();
        assert_eq!(audio.len(), written_audio.len());
        for ((pts, data), (wpts, wdata)) in audio.iter().zip(&written_audio) {
            assert_eq!(pts, wpts);
            assert_eq!(data, &wdata[..]);
        }

        let packets = packets(&ts);
        let mut last_cc: [Option<u8>; 0x2000] = [None; 0x2000];
        let mut video_starts = 0;
        for p in &packets {
            assert!(p.has_payload, "no adaptation-only packets are needed");
            let last = &mut last_cc[usize::from(p.pid)];
            if let Some(prev) = *last {
                assert_eq!(p.cc, (prev + 1) & 0x0F, "continuity on PID {:#x}", p.pid);
            }
            *last = Some(p.cc);
            if !p.adaptation.is_empty() && pcr_base(p.adaptation).is_none() {
                // Pure stuffing: flags 0, then only 0xFF.
                assert_eq!(p.adaptation[0], 0);
                assert!(p.adaptation[1..].iter().all(|&b| b == 0xFF));
            }
            if p.pid == VIDEO_PID && p.start {
                let (_, dts, keyframe, _) = &written_video[video_starts];
                let expected = Ticks(dts - PCR_LEAD.0).wrapped();
                assert_eq!(pcr_base(p.adaptation), Some(expected));
                assert_eq!(p.adaptation[0] & 0x40 != 0, *keyframe, "random_access");
                video_starts += 1;
            } else if p.pid == VIDEO_PID {
                assert_eq!(pcr_base(p.adaptation), None);
            }
            if p.pid == AUDIO_PID && p.start {
                let pes_len = usize::from(u16::from_be_bytes([p.payload[4], p.payload[5]]));
                let data_len = written_audio[packets
                    .iter()
                    .take_while(|q| !std::ptr::eq(*q, p))
                    .filter(|q| q.pid == AUDIO_PID && q.start)
                    .count()]
                .1
                .len();
                assert_eq!(pes_len, data_len + 8);
            }
        }
        assert_eq!(video_starts, written_video.len());
        // Each segment opens with a PAT and a PMT.
        let psi: Vec<u16> = packets
            .iter()
            .map(|p| p.pid)
            .filter(|&pid| pid == 0 || pid == PMT_PID)
            .collect();
        assert_eq!(psi, [0, PMT_PID].repeat(4));
        assert_eq!(packets[0].pid, 0);
        assert_eq!(packets[1].pid, PMT_PID);
    }

    #[test]
    fn continuity_counters_carry_across_segments_and_wrap() {
        let mut mux = TsMuxer::new();
        let mut all = Vec::new();
        for n in 0..20u64 {
            let mut segment = Vec::new();
            mux.begin_segment(&mut segment);
            mux.write_video(&mut segment, Ticks(n), Ticks(n), n == 0, &[0, 0, 1, 0x65]);
            let p = packets(&segment);
            assert_eq!(p[0].cc, (n % 16) as u8);
            assert_eq!(p[1].cc, (n % 16) as u8);
            assert_eq!(p[2].cc, (n % 16) as u8);
            all.extend(segment);
        }
        assert_eq!(read_video_access_units(&all).unwrap().len(), 20);
    }

    #[test]
    fn a_marked_discontinuity_flags_the_next_packet_of_every_pid_once() {
        let mut mux = TsMuxer::new();
        let mut ts = Vec::new();
        mux.begin_segment(&mut ts);
        mux.write_video(&mut ts, Ticks(0), Ticks(0), true, &[0, 0, 1, 0x65]);
        mux.write_audio(&mut ts, Ticks(0), &adts_frame(100, 1));
        let before = ts.len();
        mux.mark_discontinuity();
        for n in 0..2u64 {
            mux.begin_segment(&mut ts);
            mux.write_video(&mut ts, Ticks(n), Ticks(n), true, &[0, 0, 1, 0x65]);
            mux.write_audio(&mut ts, Ticks(n), &adts_frame(100, 1));
        }
        let flagged = |p: &Packet| !p.adaptation.is_empty() && p.adaptation[0] & 0x80 != 0;
        let first = packets(&ts[..before]);
        assert!(!first.iter().any(flagged));
        let after = packets(&ts[before..]);
        let pids: Vec<u16> = after.iter().filter(|p| flagged(p)).map(|p| p.pid).collect();
        assert_eq!(pids, [0, PMT_PID, VIDEO_PID, AUDIO_PID]);
        // The PSI sections are still read: the second segment's tables are the same.
        assert_eq!(after[0].payload, &first[0].payload[..PAYLOAD_SIZE - 2]);
        assert_eq!(after[1].payload, &first[1].payload[..PAYLOAD_SIZE - 2]);
        assert_eq!(read_video_access_units(&ts).unwrap().len(), 3);
        assert_eq!(read_audio_pes(&ts).unwrap().len(), 3);
    }

    #[test]
    fn pcr_saturates_at_zero_and_timestamps_wrap() {
        let mut mux = TsMuxer::new();
        let mut ts = Vec::new();
        mux.begin_segment(&mut ts);
        mux.write_video(&mut ts, Ticks(3000), Ticks(1000), true, &[0, 0, 1, 0x65]);
        mux.write_video(
            &mut ts,
            Ticks(3 * PTS_WRAP + 100),
            Ticks(3 * PTS_WRAP + 70_000),
            false,
            &[0, 0, 1, 0x41],
        );
        let p = packets(&ts);
        assert_eq!(pcr_base(p[2].adaptation), Some(0));
        assert_eq!(pcr_base(p[3].adaptation), Some(7_000));
        let read = read_video_access_units(&ts).unwrap();
        assert_eq!((read[0].pts, read[0].dts), (3000, 1000));
        // Wrapped to 100/70_000 in the file, then read on the file's own timeline.
        assert_eq!(
            (read[1].pts % PTS_WRAP, read[1].dts % PTS_WRAP),
            (100, 70_000)
        );
    }

    #[test]
    fn oversized_audio_is_split_at_frame_boundaries() {
        let mut mux = TsMuxer::new();
        let mut ts = Vec::new();
        mux.begin_segment(&mut ts);
        let frames: Vec<u8> = (0..100u8).flat_map(|i| adts_frame(1000, i)).collect();
        mux.write_audio(&mut ts, Ticks(90_000), &frames);
        // The demuxer needs a video stream in the PMT only, not video packets.
        let audio = read_audio_pes(&ts).unwrap();
        assert_eq!(audio.len(), 2);
        assert_eq!(audio[0].0, 90_000);
        let first_frames = audio[0].1.len() / 1000;
        assert_eq!(first_frames, MAX_AUDIO_PES_PAYLOAD / 1000);
        assert_eq!(audio[1].0, 90_000 + first_frames as u64 * 1920);
        let joined: Vec<u8> = audio.iter().flat_map(|(_, d)| d.iter().copied()).collect();
        assert_eq!(joined, frames);
    }

    #[test]
    fn short_payloads_fill_whole_packets() {
        for len in [
            0usize, 1, 150, 157, 158, 169, 170, 171, 183, 184, 185, 341, 342, 343,
        ] {
            let mut mux = TsMuxer::new();
            let mut ts = Vec::new();
            let data = vec![0x5A; len];
            mux.write_audio(&mut ts, Ticks(0), &data);
            mux.write_video(&mut ts, Ticks(0), Ticks(0), false, &data);
            assert_eq!(ts.len() % PACKET_SIZE, 0, "len {len}");
            let payload: usize = packets(&ts).iter().map(|p| p.payload.len()).sum();
            // 14-byte audio and 14-byte video PES headers (no DTS: it equals the PTS).
            assert_eq!(payload, 2 * len + 14 + 14, "len {len}");
        }
    }

    /// Runs `program` with the whitespace-separated `args`, then `paths`.
    fn run(program: &str, args: &str, paths: &[&str]) -> std::process::Output {
        let all: Vec<&str> = args
            .split_whitespace()
            .chain(paths.iter().copied())
            .collect();
        let output = crate::testkit::media::output(program, all);
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Distance from `a` forward to `b` on the 33-bit circle.
    fn step(a: &serde_json::Value, b: &serde_json::Value) -> i64 {
        (b.as_i64().unwrap() - a.as_i64().unwrap()).rem_euclid(PTS_WRAP as i64)
    }

    #[test]
    fn ffprobe_accepts_a_remuxed_clip_across_the_wrap() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        let (clip, aac, out) = (path("clip.ts"), path("a.aac"), path("out.ts"));
        run(
            "ffmpeg",
            "-v error -f lavfi -i testsrc2=size=320x240:rate=30:duration=2 \
             -c:v libx264 -g 30 -bf 2 -f mpegts",
            &[&clip],
        );
        run(
            "ffmpeg",
            "-v error -f lavfi -i sine=d=2 -c:a aac -ar 48000 -ac 2 -f adts",
            &[&aac],
        );

        let units = read_video_access_units(&std::fs::read(&clip).unwrap()).unwrap();
        assert_eq!(units.len(), 60);
        assert!(units[0].keyframe);
        assert!(units.windows(2).all(|w| w[1].dts == w[0].dts + 3000));
        let aac = std::fs::read(&aac).unwrap();
        let frames = adts::split_frames(&aac).unwrap();

        let base = PTS_WRAP - 90_000;
        let first_dts = units[0].dts;
        let mut mux = TsMuxer::new();
        let mut ts = Vec::new();
        let mut next_frame = 0;
        let mut write_audio_until = |mux: &mut TsMuxer, ts: &mut Vec<u8>, until: u64| {
            while next_frame < frames.len() && base + next_frame as u64 * 1920 <= until {
                // Four ADTS frames per PES, as the channel's audio path sends them.
                let end = (next_frame + 4).min(frames.len());
                let bytes = &aac[frames[next_frame].start..frames[end - 1].end];
                mux.write_audio(ts, Ticks(base + next_frame as u64 * 1920), bytes);
                next_frame = end;
            }
        };
        for (i, unit) in units.iter().enumerate() {
            if i % 30 == 0 {
                assert!(unit.keyframe);
                mux.begin_segment(&mut ts);
            }
            let dts = base + (unit.dts - first_dts);
            let pts = base + (unit.pts - first_dts);
            write_audio_until(&mut mux, &mut ts, dts);
            mux.write_video(&mut ts, Ticks(pts), Ticks(dts), unit.keyframe, &unit.data);
        }
        write_audio_until(&mut mux, &mut ts, u64::MAX);
        std::fs::write(&out, &ts).unwrap();

        let probe = run(
            "ffprobe",
            "-v error -show_entries packet=codec_type,pts,dts,flags -of json",
            &[&out],
        );
        assert_eq!(String::from_utf8_lossy(&probe.stderr), "");
        let json: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
        let packets = json["packets"].as_array().unwrap();
        let of = |kind: &str| -> Vec<&serde_json::Value> {
            packets.iter().filter(|p| p["codec_type"] == kind).collect()
        };
        let (video, audio) = (of("video"), of("audio"));
        assert_eq!(video.len(), units.len());
        assert_eq!(audio.len(), frames.len());
        assert!(video[0]["flags"].as_str().unwrap().starts_with('K'));
        assert_eq!(
            step(&serde_json::json!(base % PTS_WRAP), &video[0]["dts"]),
            0
        );
        for w in video.windows(2) {
            assert_eq!(step(&w[0]["dts"], &w[1]["dts"]), 3000, "{w:?}");
        }
        for w in audio.windows(2) {
            assert_eq!(step(&w[0]["pts"], &w[1]["pts"]), 1920, "{w:?}");
        }

        let decode = run(
            "ffmpeg",
            "-v error -f mpegts -i",
            &[&out, "-f", "null", "-"],
        );
        assert_eq!(String::from_utf8_lossy(&decode.stderr), "");
    }
}
