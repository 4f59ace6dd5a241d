//! A network namespace of the test's own, for the tests that need the machine's one
//! HDHomeRun discovery port (UDP 65001, which libhdhomerun's client fixes): in a
//! namespace of its own a test has a loopback and a port 65001 of its own, so it
//! passes beside a running shufflecast that holds the machine's. Making one needs
//! CAP_SYS_ADMIN (root, as CI runs); without it the test uses the machine's port
//! when that is free, and otherwise fails saying why.
//!
//! A namespace belongs to a thread (unshare(2) moves only the caller): the threads,
//! sockets and processes that thread makes afterwards live in it, the rest of the
//! test process does not.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

use crate::hdhomerun::DISCOVERY_PORT;

/// Moves the calling thread into a new network namespace with its loopback up.
pub fn enter_own() -> io::Result<()> {
    // SAFETY: unshare(2) with CLONE_NEWNET only changes the calling thread's
    // network namespace; no memory is shared with the kernel.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    loopback_up()
}

/// Sets the IFF_UP flag of `lo` (a new namespace's loopback starts down).
fn loopback_up() -> io::Result<()> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&socket);
    // SAFETY: ifreq is plain data (zeroes are a valid value); the name is NUL
    // terminated within its 16 bytes; both ioctls read and write only `req`.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) != 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Makes UDP port 65001 on loopback this thread's to use: a namespace of its own,
/// or else the machine's port when nothing holds it. The error says why neither.
pub fn own_discovery_port() -> Result<(), String> {
    let Err(ns) = enter_own() else {
        return Ok(());
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, DISCOVERY_PORT));
    match UdpSocket::bind(addr) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "this test needs UDP port {DISCOVERY_PORT}: a network namespace of its own \
             could not be made ({ns}; it needs root or CAP_SYS_ADMIN), and the machine's \
             port is taken ({e}: a running shufflecast or other HDHomeRun server holds it)"
        )),
    }
}

/// Runs `test` on a runtime of its own (two workers) whose threads live with the
/// calling thread on [`own_discovery_port`]'s port 65001. For tests that are plain
/// `#[test]` functions: the runtime must be made after the move.
pub fn with_discovery_port<F: Future<Output = ()>>(test: impl FnOnce() -> F) {
    own_discovery_port().unwrap_or_else(|e| panic!("{e}"));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(test());
}
