//! Reads the elementary streams back out of transport streams: the clips ffmpeg
//! wrote, and (in tests) our own muxer's output.

use super::{PACKET_SIZE, TsError};
use crate::media::h264;
use crate::media::time::Unwrapper;
use bytes::{Bytes, BytesMut};
use mpeg2ts::es::StreamType;
use mpeg2ts::ts::{ReadTsPacket, TsPacketReader, TsPayload};
use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

/// One H.264 access unit read from a clip, with timestamps on an unwrapped timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoAccessUnit {
    /// Presentation timestamp, 90 kHz, unwrapped.
    pub pts: u64,
    /// Decode timestamp, 90 kHz, unwrapped (equal to `pts` when the PES had none).
    pub dts: u64,
    /// The access unit in Annex B, as carried in the PES.
    pub data: Bytes,
    /// True when the access unit holds an IDR slice.
    pub keyframe: bool,
}

/// Reads every video access unit of the first H.264 stream found via PAT/PMT, in
/// decode order. Timestamps are unwrapped so a file crossing the 33-bit wrap reads
/// monotonic; dts = pts when the PES has no DTS; keyframe = h264::is_idr(data).
pub fn read_video_access_units(ts: &[u8]) -> Result<Vec<VideoAccessUnit>, TsError> {
    let pes = read_stream(ts, |t| t == StreamType::H264, "H.264 video")?;
    // One unwrapper for both timestamps, DTS first: PTS is never far from its DTS,
    // so it lands in the right 2^33 period even when the two straddle the wrap.
    let mut unwrapper = Unwrapper::default();
    Ok(pes
        .into_iter()
        .map(|p| {
            let dts = unwrapper.unwrap(p.dts.unwrap_or(p.pts));
            let pts = unwrapper.unwrap(p.pts);
            let keyframe = h264::is_idr(&p.data);
            VideoAccessUnit {
                pts,
                dts,
                data: p.data,
                keyframe,
            }
        })
        .collect())
}

/// Reads the PES of the first ADTS AAC stream (stream_type 0x0F) as (unwrapped PTS,
/// ADTS bytes) pairs, one per PES.
pub fn read_audio_pes(ts: &[u8]) -> Result<Vec<(u64, Bytes)>, TsError> {
    let pes = read_stream(ts, |t| t == StreamType::AdtsAac, "ADTS AAC audio")?;
    let mut unwrapper = Unwrapper::default();
    Ok(pes
        .into_iter()
        .map(|p| (unwrapper.unwrap(p.pts), p.data))
        .collect())
}

/// A whole PES of the selected stream, timestamps still 33-bit.
struct RawPes {
    pts: u64,
    dts: Option<u64>,
    data: Bytes,
}

/// A PES being reassembled from TS packets.
struct OpenPes {
    offset: usize,
    pts: Option<u64>,
    dts: Option<u64>,
}

/// Feeds mpeg2ts's reader one packet at a time.
///
/// `TsPacketReader` fails on any PID it has not seen announced in a PAT/PMT and
/// parses everything it is given; handing it only the packets we need (PAT, PMTs,
/// the chosen stream) keeps unrelated streams from making a clip unreadable, and
/// skips their parsing cost.
struct PacketFeed<'a>(Rc<Cell<&'a [u8]>>);

impl Read for PacketFeed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut rest = self.0.get();
        let n = rest.read(buf)?;
        self.0.set(rest);
        Ok(n)
    }
}

/// Where a read of one elementary stream is: the programs seen, the stream's PID
/// once a PMT named it, and the PES being gathered.
struct StreamRead {
    pmt_pids: Vec<u16>,
    saw_pmt: bool,
    stream_pid: Option<u16>,
    // Every PES payload goes into one buffer; each finished PES is split off it, so
    // all access units share one allocation instead of one each.
    buffer: BytesMut,
    open: Option<OpenPes>,
    out: Vec<RawPes>,
}

impl StreamRead {
    /// Whether the packet on `pid` matters: the PAT, a PMT while the stream is not
    /// known yet, or the stream itself.
    fn relevant(&self, pid: u16) -> bool {
        pid == mpeg2ts::ts::Pid::PAT
            || Some(pid) == self.stream_pid
            || (self.stream_pid.is_none() && self.pmt_pids.contains(&pid))
    }

    /// Takes one parsed packet's payload.
    fn take(
        &mut self,
        pid: u16,
        offset: usize,
        payload: Option<TsPayload>,
        wanted: &impl Fn(StreamType) -> bool,
    ) -> Result<(), TsError> {
        match payload {
            Some(TsPayload::Pat(pat)) if self.pmt_pids.is_empty() => {
                // Program number 0 points at the network information table, not a PMT.
                self.pmt_pids = pat
                    .table
                    .iter()
                    .filter(|p| p.program_num != 0)
                    .map(|p| p.program_map_pid.as_u16())
                    .collect();
            }
            Some(TsPayload::Pmt(pmt)) if self.stream_pid.is_none() => {
                self.saw_pmt = true;
                self.stream_pid = pmt
                    .es_info
                    .iter()
                    .find(|es| wanted(es.stream_type))
                    .map(|es| es.elementary_pid.as_u16());
            }
            Some(TsPayload::PesStart(pes)) if Some(pid) == self.stream_pid => {
                if let Some(done) = self.open.take() {
                    finish(done, &mut self.buffer, &mut self.out)?;
                }
                self.open = Some(OpenPes {
                    offset,
                    pts: pes.header.pts.map(|t| t.as_u64()),
                    dts: pes.header.dts.map(|t| t.as_u64()),
                });
                self.buffer.extend_from_slice(&pes.data);
            }
            // Continuation data before the first PES start (a file cut mid-PES) has
            // no header to time it by, so it falls through and is dropped.
            Some(TsPayload::PesContinuation(data))
                if Some(pid) == self.stream_pid && self.open.is_some() =>
            {
                self.buffer.extend_from_slice(&data);
            }
            _ => {}
        }
        Ok(())
    }

    /// The stream's PES packets, once every packet is taken.
    fn end(mut self, what: &'static str) -> Result<Vec<RawPes>, TsError> {
        if let Some(done) = self.open.take() {
            finish(done, &mut self.buffer, &mut self.out)?;
        }
        if self.pmt_pids.is_empty() || !self.saw_pmt {
            return Err(TsError::NoProgram);
        }
        if self.stream_pid.is_none() {
            return Err(TsError::NoStream(what));
        }
        Ok(self.out)
    }
}

fn read_stream(
    ts: &[u8],
    wanted: impl Fn(StreamType) -> bool,
    what: &'static str,
) -> Result<Vec<RawPes>, TsError> {
    check_framing(ts)?;
    let current = Rc::new(Cell::new(&[][..]));
    let mut reader = TsPacketReader::new(PacketFeed(Rc::clone(&current)));
    let mut read = StreamRead {
        pmt_pids: Vec::new(),
        saw_pmt: false,
        stream_pid: None,
        buffer: BytesMut::with_capacity(ts.len()),
        open: None,
        out: Vec::new(),
    };
    for (index, packet) in ts.chunks_exact(PACKET_SIZE).enumerate() {
        let offset = index * PACKET_SIZE;
        if packet[0] != 0x47 {
            return Err(TsError::LostSync {
                offset,
                found: packet[0],
            });
        }
        let pid = u16::from_be_bytes([packet[1] & 0x1F, packet[2]]);
        if !read.relevant(pid) {
            continue;
        }
        current.set(packet);
        let parsed = reader
            .read_ts_packet()
            .map_err(|e| TsError::Malformed {
                offset,
                reason: e.reason,
            })?
            .ok_or_else(|| TsError::Malformed {
                offset,
                reason: "packet vanished while reading".to_owned(),
            })?;
        read.take(pid, offset, parsed.payload, &wanted)?;
    }
    read.end(what)
}

fn finish(pes: OpenPes, buffer: &mut BytesMut, out: &mut Vec<RawPes>) -> Result<(), TsError> {
    let data = buffer.split().freeze();
    if data.is_empty() {
        return Ok(());
    }
    let pts = pes.pts.ok_or_else(|| TsError::Malformed {
        offset: pes.offset,
        reason: "PES without a PTS".to_owned(),
    })?;
    out.push(RawPes {
        pts,
        dts: pes.dts,
        data,
    });
    Ok(())
}

/// Rejects what is clearly not a transport stream before any packet is parsed.
fn check_framing(ts: &[u8]) -> Result<(), TsError> {
    let Some(&first) = ts.first() else {
        return Err(TsError::Empty);
    };
    if first != 0x47 {
        return Err(TsError::NotTransportStream { found: first });
    }
    if !ts.len().is_multiple_of(PACKET_SIZE) {
        return Err(TsError::PartialPacket { len: ts.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Ticks;
    use crate::media::time::PTS_WRAP;
    use crate::media::ts::TsMuxer;

    #[test]
    fn rejects_what_is_not_a_transport_stream() {
        assert!(matches!(read_video_access_units(&[]), Err(TsError::Empty)));
        let text = b"#EXTM3U\n#EXT-X-VERSION:3\nthis is a text file, not video\n".repeat(20);
        let err = read_video_access_units(&text).unwrap_err();
        assert!(
            matches!(err, TsError::NotTransportStream { found: b'#' }),
            "{err}"
        );
        assert!(err.to_string().contains("not an MPEG transport stream"));
        assert!(matches!(
            read_audio_pes(&[0x47; 100]),
            Err(TsError::PartialPacket { len: 100 })
        ));
        let mut lost = vec![0xFF; 3 * PACKET_SIZE];
        for packet in lost.chunks_mut(PACKET_SIZE).take(2) {
            packet[..4].copy_from_slice(&[0x47, 0x1F, 0xFF, 0x10]);
        }
        lost[2 * PACKET_SIZE] = 0;
        assert!(matches!(
            read_video_access_units(&lost),
            Err(TsError::LostSync {
                offset: 376,
                found: 0
            })
        ));
    }

    #[test]
    fn garbage_packets_are_errors_not_panics() {
        // Sync bytes in the right places but nonsense in between, PAT PID included.
        let mut x = 12345u32;
        for pid_high in [0x00u8, 0x01, 0x10, 0x1F] {
            let mut ts = Vec::new();
            for _ in 0..50 {
                let mut p = [0u8; PACKET_SIZE];
                for b in &mut p {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    *b = (x >> 16) as u8;
                }
                p[0] = 0x47;
                p[1] = (p[1] & 0xE0) | pid_high;
                ts.extend_from_slice(&p);
            }
            assert!(read_video_access_units(&ts).is_err());
            assert!(read_audio_pes(&ts).is_err());
        }
        // Null packets only: a valid stream with no program.
        let null: Vec<u8> = [0x47, 0x1F, 0xFF, 0x10]
            .into_iter()
            .chain(std::iter::repeat_n(0xFF, 184))
            .collect();
        assert!(matches!(
            read_video_access_units(&null.repeat(3)),
            Err(TsError::NoProgram)
        ));
    }

    #[test]
    fn corrupted_streams_never_panic() {
        let mut mux = TsMuxer::new();
        let mut ts = Vec::new();
        mux.begin_segment(&mut ts);
        for i in 0..4u64 {
            let au: Vec<u8> = [0, 0, 0, 1, 0x65].into_iter().chain(0..=250).collect();
            mux.write_video(
                &mut ts,
                Ticks(i * 3000 + 6000),
                Ticks(i * 3000),
                i == 0,
                &au,
            );
            mux.write_audio(
                &mut ts,
                Ticks(i * 3000),
                &[0xFF, 0xF1, 0x4C, 0x80, 0x01, 0x3F, 0xFC],
            );
        }
        let mut x = 99u32;
        let mut next = || {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 8) as usize
        };
        for _ in 0..3000 {
            let mut damaged = ts.clone();
            for _ in 0..1 + next() % 3 {
                let at = next() % damaged.len();
                damaged[at] ^= 1 << (next() % 8);
            }
            // Either result is fine; reaching the next line is the test.
            let _ = read_video_access_units(&damaged);
            let _ = read_audio_pes(&damaged);
        }
    }

    #[test]
    fn missing_stream_kind_is_reported() {
        use mpeg2ts::ts::payload::Pmt;
        use mpeg2ts::ts::{
            ContinuityCounter, EsInfo, Pid, TransportScramblingControl, TsHeader, TsPacket,
            TsPacketWriter, VersionNumber, WriteTsPacket,
        };

        let mut ts = Vec::new();
        TsMuxer::new().begin_segment(&mut ts);
        assert!(read_video_access_units(&ts).unwrap().is_empty());

        // Our PAT, then a PMT announcing audio only.
        let audio_only = TsPacket {
            header: TsHeader {
                transport_error_indicator: false,
                transport_priority: false,
                pid: Pid::new(super::super::PMT_PID).unwrap(),
                transport_scrambling_control: TransportScramblingControl::NotScrambled,
                continuity_counter: ContinuityCounter::new(),
            },
            adaptation_field: None,
            payload: Some(TsPayload::Pmt(Pmt {
                program_num: 1,
                pcr_pid: None,
                version_number: VersionNumber::new(),
                program_info: Vec::new(),
                es_info: vec![EsInfo {
                    stream_type: StreamType::AdtsAac,
                    elementary_pid: Pid::new(0x101).unwrap(),
                    descriptors: Vec::new(),
                }],
            })),
        };
        let mut writer = TsPacketWriter::new(ts[..PACKET_SIZE].to_vec());
        writer.write_ts_packet(&audio_only).unwrap();
        let no_video = writer.into_stream();
        let err = read_video_access_units(&no_video).unwrap_err();
        assert!(matches!(err, TsError::NoStream("H.264 video")), "{err}");
        assert!(read_audio_pes(&no_video).unwrap().is_empty());
        // Rewrite the PMT's H.264 entry as MPEG-2 video, leaving the CRC stale: the
        // parser must report the damage instead of trusting the table.
        let mut damaged = ts.clone();
        let at = PACKET_SIZE
            + damaged[PACKET_SIZE..]
                .iter()
                .position(|&b| b == 0x1B)
                .unwrap();
        damaged[at] = 0x02;
        let err = read_video_access_units(&damaged).unwrap_err();
        assert!(
            matches!(err, TsError::Malformed { offset: 188, .. }),
            "{err}"
        );
    }

    /// Runs ffmpeg with the whitespace-separated `args` then `output`.
    fn ffmpeg(args: &str, output: &std::path::Path) {
        let mut a: Vec<std::ffi::OsString> = args.split_whitespace().map(Into::into).collect();
        a.push(output.into());
        crate::testkit::media::ffmpeg(a);
    }

    #[test]
    fn reads_an_ffmpeg_clip_with_audio_across_the_wrap() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("clip.ts");
        // 2^33 ticks is 95443.717 s; with ffmpeg's own 1.4 s mux delay this clip
        // starts 0.8 s before the wrap and ends after it.
        ffmpeg(
            "-v error -f lavfi -i testsrc2=size=160x120:rate=25:duration=2 \
             -f lavfi -i sine=d=2 -c:v libx264 -g 25 -bf 2 -c:a aac -ar 48000 \
             -output_ts_offset 95441.5 -f mpegts",
            &clip,
        );
        let ts = std::fs::read(&clip).unwrap();
        let video = read_video_access_units(&ts).unwrap();
        assert_eq!(video.len(), 50);
        assert!(video[0].dts < PTS_WRAP && video[49].dts > PTS_WRAP);
        assert!(video.windows(2).all(|w| w[1].dts == w[0].dts + 3600));
        assert!(
            video
                .iter()
                .all(|v| v.pts >= v.dts && v.pts - v.dts < 20_000)
        );
        let keyframes: Vec<usize> = (0..50).filter(|&i| video[i].keyframe).collect();
        assert_eq!(keyframes, [0, 25]);
        assert!(h264::parameter_sets(&video[0].data).is_some());

        let audio = read_audio_pes(&ts).unwrap();
        assert!(!audio.is_empty());
        assert!(audio.windows(2).all(|w| w[1].0 > w[0].0));
        let aac: Vec<u8> = audio.iter().flat_map(|(_, d)| d.iter().copied()).collect();
        let frames = crate::media::adts::split_frames(&aac).unwrap();
        assert_eq!(frames.last().unwrap().end, aac.len());
        assert!((94..=97).contains(&frames.len()), "{} frames", frames.len());
    }
}
