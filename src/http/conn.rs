//! Connections a handler can close: the continuous stream must drop a client that
//! stopped reading, but a response body is only polled when the socket takes more,
//! so a stalled client would otherwise hold its connection for ever. Each accepted
//! socket is wrapped with a [`Hangup`] that handlers reach through
//! `ConnectInfo<Peer>`; pulling it fails the socket's next read or write, and wakes
//! the connection's task so that it does so at once.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Closes one connection from outside its task.
#[derive(Debug, Default)]
pub struct Hangup {
    done: AtomicBool,
    waker: AtomicWaker,
}

impl Hangup {
    /// Closes the connection: its pending and next socket operations fail.
    pub fn hang_up(&self) {
        self.done.store(true, Ordering::Release);
        self.waker.wake();
    }

    fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

/// Who is on the other end of a request, and how to hang up on them.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// Closes the client's connection.
    pub hangup: Arc<Hangup>,
}

impl Connected<IncomingStream<'_, Listener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections carry a [`Hangup`].
pub struct Listener(pub TcpListener);

impl axum::serve::Listener for Listener {
    type Io = Conn;
    type Addr = Peer;

    async fn accept(&mut self) -> (Conn, Peer) {
        loop {
            match self.0.accept().await {
                Ok((io, addr)) => {
                    // Segments are written whole; Nagle would only delay their tails.
                    let _ = io.set_nodelay(true);
                    let hangup = Arc::new(Hangup::default());
                    let peer = Peer {
                        addr,
                        hangup: hangup.clone(),
                    };
                    return (Conn { io, hangup }, peer);
                }
                // A connection reset before it was accepted concerns nobody else.
                Err(e) if is_connection_error(&e) => {}
                // Out of file descriptors, most likely: wait rather than spin.
                Err(e) => {
                    tracing::error!(error = %e, "cannot accept connections");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Peer> {
        Ok(Peer {
            addr: self.0.local_addr()?,
            hangup: Arc::default(),
        })
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// An accepted socket that fails once its [`Hangup`] is pulled.
pub struct Conn {
    io: TcpStream,
    hangup: Arc<Hangup>,
}

impl Conn {
    /// Runs `op` unless hung up; when it would wait, the hangup's waker is set too,
    /// so a hangup while waiting wakes the connection's task.
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if self.hangup.is_done() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        match op(Pin::new(&mut self.io), cx) {
            Poll::Pending => {
                self.hangup.waker.register(cx.waker());
                // A hangup between the check above and the registration.
                if self.hangup.is_done() {
                    return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
                }
                Poll::Pending
            }
            ready => ready,
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().guard(cx, |io, cx| io.poll_read(cx, buf))
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().guard(cx, |io, cx| io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .guard(cx, |io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().guard(cx, |io, cx| io.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_hangup_fails_a_write_that_is_waiting_for_a_stalled_reader() {
        let mut listener = Listener(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = axum::serve::Listener::local_addr(&listener).unwrap().addr;
        // A client that connects and never reads.
        let client = TcpStream::connect(addr).await.unwrap();
        let (mut conn, peer) = axum::serve::Listener::accept(&mut listener).await;
        // Set once a write finds the socket buffers full: it waits from then on,
        // as the client never reads.
        let waiting = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn({
            let waiting = waiting.clone();
            async move {
                let chunk = vec![0u8; 1 << 16];
                loop {
                    let mut write = std::pin::pin!(conn.write(&chunk));
                    if futures::poll!(write.as_mut()).is_pending() {
                        waiting.store(true, Ordering::Release);
                    }
                    if let Err(e) = write.await {
                        return e.kind();
                    }
                }
            }
        });
        crate::testkit::until("a write to wait", Duration::from_secs(10), async || {
            waiting.load(Ordering::Acquire)
        })
        .await;
        assert!(!writer.is_finished(), "the write should be waiting");
        peer.hangup.hang_up();
        let kind = tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .expect("the hangup wakes the waiting write")
            .unwrap();
        assert_eq!(kind, io::ErrorKind::ConnectionAborted);
        drop(client);
    }

    #[tokio::test]
    async fn without_a_hangup_the_connection_works_both_ways() {
        let mut listener = Listener(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = axum::serve::Listener::local_addr(&listener).unwrap().addr;
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut conn, peer) = axum::serve::Listener::accept(&mut listener).await;
        assert_eq!(peer.addr, client.local_addr().unwrap());
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        conn.read_exact(&mut buf).await.unwrap();
        conn.write_all(b"pong").await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    }
}
