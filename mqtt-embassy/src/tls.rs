//! MQTT over TLS 1.3 with [embedded-tls](embedded_tls) (feature `tls`): [`TlsConnector`] puts
//! TLS on top of another [`Connect`]or, and [`Verified`] checks the broker's certificate
//! against a CA and its name.
//!
//! ```no_run
//! use embassy_net::{IpEndpoint, Ipv4Address, Stack};
//! use mqtt_embassy::TcpConnector;
//! use mqtt_embassy::tls::{TlsBuffers, TlsConfig, TlsConnector, Verified};
//!
//! # fn demo(stack: Stack<'static>, rng: impl embedded_tls::CryptoRngCore + 'static,
//! #         ca_der: &'static [u8], tcp_rx: &'static mut [u8], tcp_tx: &'static mut [u8],
//! #         buffers: TlsBuffers<'static>) {
//! let broker = IpEndpoint::new(Ipv4Address::new(192, 168, 1, 10).into(), 8883);
//! let tcp = TcpConnector::new(stack, broker, tcp_rx, tcp_tx);
//! // The broker's certificate must chain to `ca_der` and name "broker.local".
//! let config = TlsConfig::new().with_server_name("broker.local");
//! let connector = TlsConnector::new(tcp, config, Verified::new(rng, ca_der), buffers);
//! # let _ = connector;
//! # }
//! ```
//!
//! # Memory
//!
//! embedded-tls decrypts into a record buffer that must hold a whole TLS record: up to
//! 16,640 bytes, or less when the broker accepts a smaller maximum fragment length
//! ([`TlsConfig::with_max_fragment_length`]). [`TlsBuffers::incoming`] is as large again: the
//! connector gathers each record whole before embedded-tls reads it, which is what makes the
//! socket's reads cancel safe (see [`Connect`]). The write record buffer can be smaller (4 KiB
//! is plenty for MQTT).

use core::fmt::Debug;

use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Certificate, CryptoProvider, CryptoRngCore, FlushPolicy, NoClock, TlsConnection, TlsContext,
    TlsError, TlsVerifier,
};

pub use embedded_tls::{Aes128GcmSha256, MaxFragmentLength, TlsConfig, UnsecureProvider};

use crate::connect::Connect;

/// The length of a TLS record header: type, version, length.
const RECORD_HEADER: usize = 5;

/// The buffers a [`TlsConnector`] lends each connection.
#[derive(Debug)]
pub struct TlsBuffers<'b> {
    /// Where embedded-tls decrypts a record: as large as the largest record.
    pub read_record: &'b mut [u8],
    /// Where embedded-tls encrypts a record: 4 KiB is plenty.
    pub write_record: &'b mut [u8],
    /// Where incoming records are gathered whole: as large as `read_record`.
    pub incoming: &'b mut [u8],
}

/// Opens TLS 1.3 connections (cipher suite TLS_AES_128_GCM_SHA256) over the sockets of
/// `inner`.
///
/// The provider `P` supplies randomness and decides how the broker is checked: [`Verified`]
/// verifies its certificate chain against a CA and, with
/// [`TlsConfig::with_server_name`], its name. embedded-tls's [`UnsecureProvider`] checks
/// nothing: use it only where the network itself is trusted, as an explicit choice.
pub struct TlsConnector<'b, C, P> {
    inner: C,
    config: TlsConfig<'b>,
    provider: P,
    buffers: TlsBuffers<'b>,
}

impl<'b, C: Connect, P> TlsConnector<'b, C, P>
where
    P: CryptoProvider<CipherSuite = Aes128GcmSha256>,
{
    /// TLS with `config` (server name, ALPN, maximum fragment length) and `provider` over
    /// `inner`'s sockets.
    pub fn new(inner: C, config: TlsConfig<'b>, provider: P, buffers: TlsBuffers<'b>) -> Self {
        TlsConnector {
            inner,
            config,
            provider,
            buffers,
        }
    }
}

/// Why a TLS connection could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsConnectError<E> {
    /// The inner connector failed.
    Connect(E),
    /// The handshake failed (a certificate that does not verify, say).
    Tls(TlsError),
}

/// A TLS connection as the client uses it.
pub type TlsSocket<'a, S> = TlsConnection<'a, Records<'a, S>, Aes128GcmSha256>;

impl<'b, C: Connect, P> Connect for TlsConnector<'b, C, P>
where
    P: CryptoProvider<CipherSuite = Aes128GcmSha256>,
{
    type Socket<'a>
        = TlsSocket<'a, C::Socket<'a>>
    where
        Self: 'a;
    type Error = TlsConnectError<C::Error>;

    async fn connect(&mut self) -> Result<Self::Socket<'_>, Self::Error> {
        let TlsConnector {
            inner,
            config,
            provider,
            buffers,
        } = self;
        let socket = inner.connect().await.map_err(TlsConnectError::Connect)?;
        let records = Records::new(socket, buffers.incoming);
        let mut tls = TlsConnection::new(records, buffers.read_record, buffers.write_record);
        // The client flushes after each batch of writes; a TCP flush would wait for the peer's
        // acknowledgement.
        tls.set_flush_policy(FlushPolicy::Relaxed);
        tls.open(TlsContext::new(config, provider))
            .await
            .map_err(TlsConnectError::Tls)?;
        Ok(tls)
    }
}

impl<C, P> Debug for TlsConnector<'_, C, P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

/// A provider that verifies the broker: its certificate must chain to the CA given (DER), and
/// name the server of [`TlsConfig::with_server_name`]. Certificates up to `CERT_SIZE` bytes.
///
/// There is no clock on most boards, so validity periods are not checked.
pub struct Verified<'a, R, const CERT_SIZE: usize = 4096> {
    rng: R,
    verifier: CertVerifier<'a, Aes128GcmSha256, NoClock, CERT_SIZE>,
}

impl<'a, R: CryptoRngCore> Verified<'a, R> {
    /// Verifies against `ca_der`, with randomness from `rng` (the chip's RNG), for server
    /// certificates up to 4 KiB.
    pub fn new(rng: R, ca_der: &'a [u8]) -> Self {
        Verified::with_cert_size(rng, ca_der)
    }
}

impl<'a, R: CryptoRngCore, const CERT_SIZE: usize> Verified<'a, R, CERT_SIZE> {
    /// [`new`](Verified::new) for server certificates up to `CERT_SIZE` bytes:
    /// `Verified::<_, 2048>::with_cert_size(rng, ca_der)`.
    pub fn with_cert_size(rng: R, ca_der: &'a [u8]) -> Self {
        Verified {
            rng,
            verifier: CertVerifier::new(Certificate::X509(ca_der)),
        }
    }
}

impl<R: CryptoRngCore, const CERT_SIZE: usize> CryptoProvider for Verified<'_, R, CERT_SIZE> {
    type CipherSuite = Aes128GcmSha256;
    type Signature = [u8; 0];

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Aes128GcmSha256>, TlsError> {
        Ok(&mut self.verifier)
    }
}

impl<R, const CERT_SIZE: usize> Debug for Verified<'_, R, CERT_SIZE> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verified").finish_non_exhaustive()
    }
}

/// The socket under TLS: gathers each incoming TLS record whole before it hands out any of
/// its bytes, so that embedded-tls, which reads a record in several steps, only ever waits at
/// a record's start: a read cancelled there loses nothing.
pub struct Records<'a, S> {
    inner: S,
    buf: &'a mut [u8],
    /// Bytes not handed out yet: `buf[start..end]`; the first `ready` of them are whole
    /// records.
    start: usize,
    end: usize,
    ready: usize,
}

impl<'a, S> Records<'a, S> {
    fn new(inner: S, buf: &'a mut [u8]) -> Self {
        Records {
            inner,
            buf,
            start: 0,
            end: 0,
            ready: 0,
        }
    }

    /// Counts the whole records that follow those counted.
    fn scan(&mut self) {
        let mut at = self.start + self.ready;
        while let Some(header) = self.buf.get(at..at + RECORD_HEADER) {
            let len = RECORD_HEADER + usize::from(u16::from_be_bytes([header[3], header[4]]));
            if at + len > self.end {
                break;
            }
            at += len;
        }
        self.ready = at - self.start;
    }
}

/// A socket error, or a record larger than [`TlsBuffers::incoming`].
#[derive(Debug)]
#[non_exhaustive]
pub enum RecordsError<E> {
    /// The socket failed.
    Io(E),
    /// A record does not fit the buffer.
    TooLarge,
}

impl<E: embedded_io_async::Error> embedded_io_async::Error for RecordsError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            RecordsError::Io(e) => e.kind(),
            RecordsError::TooLarge => ErrorKind::OutOfMemory,
        }
    }
}

impl<E: Debug> core::fmt::Display for RecordsError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RecordsError::Io(e) => write!(f, "{e:?}"),
            RecordsError::TooLarge => f.write_str("a TLS record larger than the incoming buffer"),
        }
    }
}

impl<E: Debug> core::error::Error for RecordsError<E> {}

impl<S: ErrorType> ErrorType for Records<'_, S> {
    type Error = RecordsError<S::Error>;
}

impl<S: Read> Read for Records<'_, S> {
    /// Cancel safe when `S`'s reads are: what arrived is kept in the buffer, not the future.
    async fn read(&mut self, out: &mut [u8]) -> Result<usize, Self::Error> {
        loop {
            if self.ready > 0 || out.is_empty() {
                let n = out.len().min(self.ready);
                out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
                self.start += n;
                self.ready -= n;
                return Ok(n);
            }
            self.scan();
            if self.ready > 0 {
                continue;
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                return Err(RecordsError::TooLarge);
            }
            let n = self
                .inner
                .read(&mut self.buf[self.end..])
                .await
                .map_err(RecordsError::Io)?;
            if n == 0 {
                return Ok(0);
            }
            self.end += n;
        }
    }
}

impl<S: Write> Write for Records<'_, S> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.inner.write(buf).await.map_err(RecordsError::Io)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush().await.map_err(RecordsError::Io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket that hands out its bytes a few at a time.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl ErrorType for Trickle<'_> {
        type Error = core::convert::Infallible;
    }

    impl Read for Trickle<'_> {
        async fn read(&mut self, out: &mut [u8]) -> Result<usize, Self::Error> {
            let n = self.chunk.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn record(len: u16, fill: u8) -> alloc::vec::Vec<u8> {
        let mut r = alloc::vec![23, 3, 3];
        r.extend_from_slice(&len.to_be_bytes());
        r.extend(core::iter::repeat_n(fill, usize::from(len)));
        r
    }

    #[test]
    fn records_are_handed_out_only_whole() {
        let mut stream = record(10, 1);
        stream.extend(record(300, 2));
        stream.extend(record(0, 3));
        let mut buf = [0u8; 512];
        let mut records = Records::new(
            Trickle {
                data: &stream,
                chunk: 7,
            },
            &mut buf,
        );
        let mut got = alloc::vec::Vec::new();
        let mut out = [0u8; 64];
        loop {
            let n = embassy_futures::block_on(records.read(&mut out)).unwrap();
            if n == 0 {
                break;
            }
            // Whatever was handed out ends inside or at the end of a whole record received.
            got.extend_from_slice(&out[..n]);
            assert!(records.ready + got.len() <= stream.len());
        }
        assert_eq!(got, stream);
    }

    #[test]
    fn a_record_larger_than_the_buffer_is_an_error() {
        let stream = record(100, 1);
        let mut buf = [0u8; 64];
        let mut records = Records::new(
            Trickle {
                data: &stream,
                chunk: 64,
            },
            &mut buf,
        );
        let mut out = [0u8; 8];
        assert!(matches!(
            embassy_futures::block_on(records.read(&mut out)),
            Err(RecordsError::TooLarge)
        ));
    }
}
