//! The answer to libhdhomerun's UDP discovery (`hdhomerun_discover.c`), which is how
//! Plex, Jellyfin and Emby find a tuner on the LAN before they ask its HTTP API.
//!
//! A packet is a big-endian type and payload length, the payload, then the CRC-32
//! (zlib's) of all that, little-endian. The payload is tag, length, value triples;
//! lengths of 128 and more take a second byte.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::DeviceId;

/// The port libhdhomerun sends discovery requests to; clients do not let it be changed.
pub const DISCOVERY_PORT: u16 = 65001;

const TYPE_DISCOVER_REQ: u16 = 0x0002;
const TYPE_DISCOVER_RPY: u16 = 0x0003;
const TAG_DEVICE_TYPE: u8 = 0x01;
const TAG_DEVICE_ID: u8 = 0x02;
const TAG_TUNER_COUNT: u8 = 0x10;
const TAG_LINEUP_URL: u8 = 0x27;
const TAG_BASE_URL: u8 = 0x2A;
const TAG_DEVICE_AUTH: u8 = 0x2B;
/// Sent instead of a device type by libhdhomerun since 20221020 when a client asks
/// for several types at once: a list of big-endian u32s.
const TAG_MULTI_TYPE: u8 = 0x2D;
const DEVICE_TYPE_TUNER: u32 = 0x0000_0001;
const WILDCARD: u32 = 0xFFFF_FFFF;
/// libhdhomerun's `HDHOMERUN_MAX_PAYLOAD_SIZE`: a client's receive buffer holds no more.
const MAX_PAYLOAD: usize = 1452;
/// Bigger than any real request, so that an oversized datagram arrives cut short and
/// fails the length check rather than passing as its first part.
const RECV_BUFFER: usize = 2048;

/// What a discovery reply tells about us.
///
/// Debian bookworm's libhdhomerun (20220302) keeps strings in fixed buffers and drops
/// a longer one: a base URL of 29 bytes or more (it then assumes `http://<ip>:80`), a
/// device auth of 25 or more, a lineup URL of 128 or more. `http://<IPv4>:<port>`
/// always fits. Empty strings are left out of the reply.
#[derive(Clone, Debug)]
pub struct Advert {
    /// Our id; requests naming another id get no reply.
    pub device_id: DeviceId,
    /// Tuners offered (streams at once).
    pub tuner_count: u8,
    /// Where the HTTP API (`/discover.json`) is, as the requester can reach it.
    pub base_url: String,
    /// `lineup.json`'s URL.
    pub lineup_url: String,
    /// The device auth string clients pass on to SiliconDust's guide service.
    pub device_auth: String,
}

/// Why a datagram is not a discovery request we can read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Shorter than a header and a CRC.
    #[error("{0} bytes, too short for a packet")]
    Short(usize),
    /// The header's payload length does not match the datagram.
    #[error("payload length {declared} in the header, {actual} bytes in the datagram")]
    Length {
        /// From the header.
        declared: usize,
        /// What came between header and CRC.
        actual: usize,
    },
    /// The CRC does not match.
    #[error("CRC mismatch")]
    Crc,
    /// A valid packet, but not a discovery request.
    #[error("packet type {0:#06x}, not a discovery request")]
    Type(u16),
    /// A tag's length runs past the payload.
    #[error("tag {0:#04x} runs past the end of the payload")]
    Tlv(u8),
}

/// A discovery request: which devices the requester wants to hear from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// From the device type tag and the multi-type tag; empty when neither came.
    pub device_types: Vec<u32>,
    /// None when absent: newer clients leave the wildcard out.
    pub device_id: Option<u32>,
}

impl Request {
    /// Whether a tuner with this id should answer. A request naming no device type
    /// gets no answer: every libhdhomerun version sends one.
    pub fn wants(&self, id: DeviceId) -> bool {
        let tuner = |t: &u32| *t == DEVICE_TYPE_TUNER || *t == WILDCARD;
        self.device_types.iter().any(tuner)
            && self
                .device_id
                .is_none_or(|d| d == WILDCARD || d == id.value())
    }
}

/// Reads a discovery request. Unknown tags are skipped, as libhdhomerun does, and so
/// are known ones of the wrong size.
pub fn parse_request(datagram: &[u8]) -> Result<Request, PacketError> {
    let (kind, payload) = open_frame(datagram)?;
    if kind != TYPE_DISCOVER_REQ {
        return Err(PacketError::Type(kind));
    }
    let mut request = Request::default();
    for tlv in tlvs(payload) {
        let (tag, value) = tlv?;
        let word = |v: &[u8]| <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes);
        match tag {
            TAG_DEVICE_TYPE => request.device_types.extend(word(value)),
            TAG_MULTI_TYPE => request
                .device_types
                .extend(value.chunks_exact(4).filter_map(word)),
            TAG_DEVICE_ID => request.device_id = word(value).or(request.device_id),
            _ => {}
        }
    }
    Ok(request)
}

/// The reply packet for `advert`. A string that would take the payload past what a
/// client can receive is left out rather than cut, so no URL arrives mangled.
pub fn reply(advert: &Advert) -> Vec<u8> {
    let mut payload = Vec::with_capacity(256);
    push_tlv(
        &mut payload,
        TAG_DEVICE_TYPE,
        &DEVICE_TYPE_TUNER.to_be_bytes(),
    );
    push_tlv(
        &mut payload,
        TAG_DEVICE_ID,
        &advert.device_id.value().to_be_bytes(),
    );
    push_tlv(&mut payload, TAG_TUNER_COUNT, &[advert.tuner_count]);
    for (tag, text) in [
        (TAG_BASE_URL, &advert.base_url),
        (TAG_LINEUP_URL, &advert.lineup_url),
        (TAG_DEVICE_AUTH, &advert.device_auth),
    ] {
        let room = MAX_PAYLOAD.saturating_sub(payload.len() + 3);
        if text.is_empty() || text.len() > room {
            continue;
        }
        push_tlv(&mut payload, tag, text.as_bytes());
    }
    frame(TYPE_DISCOVER_RPY, &payload)
}

/// CRC-32 as zlib and Ethernet compute it (reflected, polynomial 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| {
            (c >> 1) ^ (0xEDB8_8320 & (c & 1).wrapping_neg())
        })
    })
}

fn frame(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&kind.to_be_bytes());
    // Callers keep payloads within MAX_PAYLOAD, far below u16::MAX.
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The type and payload of a packet whose length and CRC check out.
fn open_frame(datagram: &[u8]) -> Result<(u16, &[u8]), PacketError> {
    if datagram.len() < 8 {
        return Err(PacketError::Short(datagram.len()));
    }
    let (framed, crc) = datagram.split_at(datagram.len() - 4);
    let (header, payload) = framed.split_at(4);
    let declared = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if payload.len() != declared {
        let actual = payload.len();
        return Err(PacketError::Length { declared, actual });
    }
    if crc32(framed).to_le_bytes() != crc {
        return Err(PacketError::Crc);
    }
    Ok((u16::from_be_bytes([header[0], header[1]]), payload))
}

/// The tags of a payload, in order; an error ends them.
fn tlvs(mut rest: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8]), PacketError>> {
    std::iter::from_fn(move || {
        let (&tag, after) = rest.split_first()?;
        let value = read_varlen(after).and_then(|(len, after)| after.split_at_checked(len));
        let Some((value, next)) = value else {
            rest = &[];
            return Some(Err(PacketError::Tlv(tag)));
        };
        rest = next;
        Some(Ok((tag, value)))
    })
}

fn read_varlen(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = bytes.split_first()?;
    if first & 0x80 == 0 {
        return Some((usize::from(first), rest));
    }
    let (&second, rest) = rest.split_first()?;
    Some((usize::from(first & 0x7F) | usize::from(second) << 7, rest))
}

fn push_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        // Two bytes reach 32767; callers stay within MAX_PAYLOAD.
        out.extend_from_slice(&[(len as u8) | 0x80, (len >> 7) as u8]);
    }
    out.extend_from_slice(value);
}

/// The address of ours the kernel would send from to reach `peer`: connecting a UDP
/// socket only picks a route, nothing goes on the wire.
fn local_ip_towards(peer: SocketAddr) -> io::Result<IpAddr> {
    let any = match peer {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    };
    let probe = std::net::UdpSocket::bind(any)?;
    probe.connect(peer)?;
    Ok(probe.local_addr()?.ip())
}

/// The reply to one datagram, if it deserves one.
fn answer(
    datagram: &[u8],
    peer: SocketAddr,
    advert: &impl Fn(SocketAddr, IpAddr) -> Advert,
) -> Option<Vec<u8>> {
    let request = parse_request(datagram)
        .inspect_err(|e| debug!(%peer, error = %e, len = datagram.len(), "discovery: ignored"))
        .ok()?;
    let local = local_ip_towards(peer)
        .inspect_err(|e| debug!(%peer, error = %e, "discovery: no route back"))
        .ok()?;
    let ad = advert(peer, local);
    if !request.wants(ad.device_id) {
        debug!(%peer, ?request, "discovery: not for us");
        return None;
    }
    Some(reply(&ad))
}

/// Answers discovery requests on `socket` until `cancel` fires. `advert` is called per
/// request with the requester's address and the local IP that would route back to it,
/// so the base URL can name an address the requester can reach. Nothing a datagram
/// holds stops the loop, and each request gets at most one reply.
pub async fn serve(
    socket: UdpSocket,
    advert: impl Fn(SocketAddr, IpAddr) -> Advert + Send + Sync + 'static,
    cancel: CancellationToken,
) {
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        let (len, peer) = tokio::select! {
            () = cancel.cancelled() => return,
            got = socket.recv_from(&mut buf) => match got {
                Ok(got) => got,
                // An ICMP error from an earlier send surfaces here: one per send.
                Err(e) => {
                    debug!(error = %e, "discovery: receive failed");
                    continue;
                }
            },
        };
        let Some(packet) = answer(&buf[..len], peer, &advert) else {
            continue;
        };
        if let Err(e) = socket.send_to(&packet, peer).await {
            debug!(%peer, error = %e, "discovery: reply not sent");
        }
    }
}

/// Binds 0.0.0.0:`port` for [`serve`]. Without SO_REUSEADDR, so a second server fails
/// here instead of silently sharing the requests. Call within a tokio runtime.
pub fn bind(port: u16) -> io::Result<UdpSocket> {
    bind_to(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
}

/// [`bind`] on one address. The error keeps its kind (`AddrInUse` for a taken port)
/// and names the address.
pub fn bind_to(addr: SocketAddr) -> io::Result<UdpSocket> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("UDP {addr}: {e}"));
    let socket = std::net::UdpSocket::bind(addr).map_err(named)?;
    // As libhdhomerun's own sockets: Linux delivers broadcasts without it, other
    // systems may not.
    socket.set_broadcast(true).map_err(named)?;
    socket.set_nonblocking(true).map_err(named)?;
    UdpSocket::from_std(socket).map_err(named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use std::time::{Duration, Instant};

    /// What Debian bookworm's `hdhomerun_config discover 127.0.0.1` (20220302) sent,
    /// twice, captured on 127.0.0.1:65001: device type and device id, both wildcards.
    const CAPTURED: [u8; 20] = [
        0x00, 0x02, 0x00, 0x0c, 0x01, 0x04, 0xff, 0xff, 0xff, 0xff, 0x02, 0x04, 0xff, 0xff, 0xff,
        0xff, 0x73, 0xcc, 0x7d, 0x8f,
    ];
    const HDHOMERUN_CONFIG: &str = "/usr/bin/hdhomerun_config";

    fn id() -> DeviceId {
        DeviceId::from_u32(0x1053_C0CA).unwrap()
    }

    fn advert_for(device_id: DeviceId, local: IpAddr) -> Advert {
        Advert {
            device_id,
            tuner_count: 2,
            base_url: format!("http://{local}:8080"),
            lineup_url: format!("http://{local}:8080/lineup.json"),
            device_auth: "shufflecast".into(),
        }
    }

    /// A tag and its value.
    type Tag<'a> = (u8, &'a [u8]);

    fn request(tags: &[Tag]) -> Vec<u8> {
        let mut payload = Vec::new();
        for (tag, value) in tags {
            push_tlv(&mut payload, *tag, value);
        }
        frame(TYPE_DISCOVER_REQ, &payload)
    }

    #[test]
    fn crc_is_zlibs_and_stored_little_endian() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(frame(TYPE_DISCOVER_REQ, &CAPTURED[4..16]), CAPTURED);
        let packet = reply(&advert_for(id(), Ipv4Addr::LOCALHOST.into()));
        assert!(open_frame(&packet).is_ok());
    }

    #[test]
    fn parses_the_request_hdhomerun_config_sends() {
        let request = parse_request(&CAPTURED).unwrap();
        assert_eq!(
            request,
            Request {
                device_types: vec![WILDCARD],
                device_id: Some(WILDCARD)
            }
        );
        assert!(request.wants(id()));
    }

    #[test]
    fn newer_requests_multi_type_and_no_id() {
        let tuner = DEVICE_TYPE_TUNER.to_be_bytes();
        let storage = 5u32.to_be_bytes();
        let both = [tuner, storage].concat();
        let ours = id().value().to_be_bytes();
        let other = 0x1234_5674u32.to_be_bytes();
        let cases: [(&[Tag], bool); 8] = [
            (&[(TAG_MULTI_TYPE, &both)], true),
            (&[(TAG_DEVICE_TYPE, &tuner), (TAG_DEVICE_ID, &ours)], true),
            (&[(TAG_DEVICE_TYPE, &tuner), (0x99, b"unknown tag")], true),
            (&[(TAG_MULTI_TYPE, &storage)], false),
            (&[(TAG_DEVICE_TYPE, &storage)], false),
            (&[(TAG_DEVICE_TYPE, &tuner), (TAG_DEVICE_ID, &other)], false),
            (&[(TAG_DEVICE_ID, &ours)], false),
            // A type of the wrong size is skipped, leaving none.
            (&[(TAG_DEVICE_TYPE, &both)], false),
        ];
        for (tags, wanted) in cases {
            let request = parse_request(&request(tags)).unwrap();
            assert_eq!(request.wants(id()), wanted, "{request:?}");
        }
    }

    /// Reads a reply back as libhdhomerun would.
    fn read_reply(packet: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let (kind, payload) = open_frame(packet).unwrap();
        assert_eq!(kind, TYPE_DISCOVER_RPY);
        tlvs(payload)
            .map(|t| t.map(|(k, v)| (k, v.to_vec())).unwrap())
            .collect()
    }

    #[test]
    fn reply_carries_the_advert_and_long_lengths_take_two_bytes() {
        let mut ad = advert_for(id(), Ipv4Addr::new(192, 168, 1, 20).into());
        ad.lineup_url = format!("http://192.168.1.20:8080/{}", "x".repeat(200));
        ad.device_auth = String::new();
        let tags = read_reply(&reply(&ad));
        assert_eq!(
            tags,
            [
                (TAG_DEVICE_TYPE, vec![0, 0, 0, 1]),
                (TAG_DEVICE_ID, vec![0x10, 0x53, 0xC0, 0xCA]),
                (TAG_TUNER_COUNT, vec![2]),
                (TAG_BASE_URL, b"http://192.168.1.20:8080".to_vec()),
                (TAG_LINEUP_URL, ad.lineup_url.clone().into_bytes()),
            ]
        );
        let mut tlv = Vec::new();
        push_tlv(&mut tlv, 7, &[0; 200]);
        assert_eq!(tlv[..3], [7, 0xC8, 0x01]);
        assert_eq!(read_varlen(&[0xC8, 0x01]), Some((200, &[][..])));
        assert_eq!(read_varlen(&[0xFF, 0xFF]), Some((32767, &[][..])));
        assert_eq!(read_varlen(&[0x7F]), Some((127, &[][..])));
        assert_eq!(read_varlen(&[0x80]), None);
    }

    #[test]
    fn strings_too_long_for_a_client_are_left_out() {
        let mut ad = advert_for(id(), Ipv4Addr::LOCALHOST.into());
        ad.lineup_url = "y".repeat(5000);
        let packet = reply(&ad);
        assert!(packet.len() <= MAX_PAYLOAD + 8);
        let tags: Vec<u8> = read_reply(&packet).into_iter().map(|(t, _)| t).collect();
        assert_eq!(tags, [1, 2, 0x10, TAG_BASE_URL, TAG_DEVICE_AUTH]);
    }

    #[test]
    fn corrupt_truncated_and_wrong_type_are_refused() {
        for i in 0..CAPTURED.len() {
            for bit in 0..8 {
                let mut bad = CAPTURED;
                bad[i] ^= 1 << bit;
                assert!(parse_request(&bad).is_err(), "byte {i} bit {bit}");
            }
        }
        for len in 0..CAPTURED.len() {
            assert!(parse_request(&CAPTURED[..len]).is_err(), "{len} bytes");
        }
        let mut longer = CAPTURED.to_vec();
        longer.push(0);
        assert!(matches!(
            parse_request(&longer),
            Err(PacketError::Length { .. })
        ));
        let packet = reply(&advert_for(id(), Ipv4Addr::LOCALHOST.into()));
        assert_eq!(parse_request(&packet), Err(PacketError::Type(3)));
        // Valid CRC, but the tag claims more than there is.
        let overrun = frame(TYPE_DISCOVER_REQ, &[TAG_DEVICE_TYPE, 0x04, 0, 0, 1]);
        assert_eq!(parse_request(&overrun), Err(PacketError::Tlv(1)));
        let cut_varlen = frame(TYPE_DISCOVER_REQ, &[TAG_DEVICE_TYPE, 0x84]);
        assert_eq!(parse_request(&cut_varlen), Err(PacketError::Tlv(1)));
        assert_eq!(
            parse_request(&[0xFF; 70000]),
            Err(PacketError::Length {
                declared: 65535,
                actual: 69992
            })
        );
    }

    #[test]
    fn random_datagrams_never_panic() {
        let mut rng = rand::rng();
        for _ in 0..20_000 {
            let len = rng.random_range(0..64);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            // Half of them framed properly, so the tag reader sees garbage too.
            if rng.random() && len >= 4 {
                bytes = frame(TYPE_DISCOVER_REQ, &bytes[4..]);
            }
            let _ = parse_request(&bytes);
        }
    }

    #[tokio::test]
    async fn serve_answers_after_garbage_only_what_is_for_us_and_stops_on_cancel() {
        let socket = bind_to((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
        let server = socket.local_addr().unwrap();
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(serve(
            socket,
            move |peer, local| {
                let _ = seen_tx.send((peer, local));
                advert_for(id(), local)
            },
            cancel.clone(),
        ));
        // Garbage and a request for another device from one socket, then ours from
        // another. The server answers each datagram before it reads the next, and
        // a reply is queued at its socket once sent: when ours is answered, a reply
        // to any of the others would be waiting already. No window to wait out.
        let others = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        others.set_nonblocking(true).unwrap();
        let other = 0x1234_5674u32.to_be_bytes();
        let elsewhere = request(&[(TAG_DEVICE_TYPE, &[0xFF; 4]), (TAG_DEVICE_ID, &other)]);
        for datagram in [
            &b""[..],
            b"\x00\x02",
            &[0xAB; 1500],
            &[0; RECV_BUFFER + 100],
            &elsewhere,
        ] {
            others.send_to(datagram, server).unwrap();
        }
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        client.send_to(&CAPTURED, server).await.unwrap();
        let mut buf = [0u8; RECV_BUFFER];
        let len = tokio::time::timeout(Duration::from_secs(10), client.recv(&mut buf))
            .await
            .expect("a reply")
            .unwrap();
        assert_eq!(
            buf[..len],
            reply(&advert_for(id(), Ipv4Addr::LOCALHOST.into()))
        );
        assert_eq!(
            others.recv(&mut buf).map_err(|e| e.kind()),
            Err(io::ErrorKind::WouldBlock),
            "no reply to the others"
        );
        let (peer, local) = seen.recv().await.unwrap();
        assert_eq!(peer.ip(), Ipv4Addr::LOCALHOST);
        assert_eq!(local, Ipv4Addr::LOCALHOST);
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("serve stops on cancel")
            .unwrap();
    }

    #[tokio::test]
    async fn bind_refuses_a_port_already_taken() {
        let first = bind(0).unwrap();
        let port = first.local_addr().unwrap().port();
        let err = bind(port).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(
            err.to_string().contains(&format!("0.0.0.0:{port}")),
            "{err}"
        );
    }

    /// The only unit test that binds the real port, which hdhomerun_config fixes: in
    /// a network namespace of its own, so a running shufflecast keeps the machine's.
    /// Slow tier: it needs Debian's hdhomerun-config.
    #[test]
    fn hdhomerun_config_discovers_us_on_port_65001() {
        if !crate::testkit::tier::run_slow("hdhomerun_config_discovers_us_on_port_65001") {
            return;
        }
        crate::testkit::netns::with_discovery_port(discover_on_port_65001);
    }

    async fn discover_on_port_65001() {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, DISCOVERY_PORT));
        let socket = bind_to(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
        let device_id = DeviceId::generate();
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(serve(
            socket,
            move |peer, local| {
                let _ = seen_tx.send((peer, local));
                advert_for(device_id, local)
            },
            cancel.clone(),
        ));
        let output = tokio::task::spawn_blocking(|| {
            let mut child = std::process::Command::new(HDHOMERUN_CONFIG)
                .args(["discover", "127.0.0.1"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("{HDHOMERUN_CONFIG}: {e} (scripts/install-deps.sh --test installs it)")
                });
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("hdhomerun_config discover did not finish in 20 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        cancel.cancel();
        task.await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Its exit status is the number of devices found, so not checked.
        assert!(
            stdout.contains(&format!("hdhomerun device {device_id} found at 127.0.0.1")),
            "stdout: {stdout}\nstderr: {stderr}"
        );
        let (peer, local) = seen.recv().await.expect("serve saw the request");
        assert_eq!(
            (peer.ip(), local),
            (Ipv4Addr::LOCALHOST.into(), Ipv4Addr::LOCALHOST.into())
        );
    }
}
