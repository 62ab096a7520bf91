//! A TLS `ClientHello` of the probe's own, to learn which protocol versions and cipher suites a
//! server accepts beyond what the HTTP client (rustls: TLS 1.2 and 1.3, strong suites only) can
//! negotiate. Only the first record of the answer is read: a `ServerHello` names the version and
//! the suite the server chose, an alert or a closed connection is a refusal. No handshake is
//! completed and no key is exchanged. The connection is opened by the caller's check after the
//! request gate admitted it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const SSL3_0: u16 = 0x0300;
pub const TLS1_0: u16 = 0x0301;
pub const TLS1_1: u16 = 0x0302;
pub const TLS1_2: u16 = 0x0303;

/// Suites an SSL 3.0 or TLS 1.0/1.1 server commonly accepts (ECDHE and RSA key exchange,
/// AES-CBC, 3DES).
pub const LEGACY_SUITES: &[u16] = &[0xc00a, 0xc009, 0xc014, 0xc013, 0x0035, 0x002f, 0x000a];
/// Suites without forward secrecy, with CBC, RC4 or 3DES: none of them should be chosen.
pub const WEAK_SUITES: &[u16] = &[
    0xc00a, 0xc009, 0xc014, 0xc013, 0xc024, 0xc023, 0xc028, 0xc027, // ECDHE, CBC
    0x009c, 0x009d, 0x003c, 0x003d, 0x002f, 0x0035, // RSA key exchange
    0x000a, 0x0005, 0x0004, // 3DES, RC4
];

/// A suite's name, for the report.
pub fn suite_name(suite: u16) -> String {
    let name = match suite {
        0xc00a => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xc009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xc014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xc013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xc024 => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        0xc023 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xc028 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0xc027 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0x009c => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009d => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x003c => "TLS_RSA_WITH_AES_128_CBC_SHA256",
        0x003d => "TLS_RSA_WITH_AES_256_CBC_SHA256",
        0x002f => "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x000a => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x0005 => "TLS_RSA_WITH_RC4_128_SHA",
        0x0004 => "TLS_RSA_WITH_RC4_128_MD5",
        _ => return format!("0x{suite:04x}"),
    };
    name.to_owned()
}

/// A protocol version's name.
pub fn version_name(version: u16) -> String {
    match version {
        SSL3_0 => "SSL 3.0".into(),
        TLS1_0 => "TLS 1.0".into(),
        TLS1_1 => "TLS 1.1".into(),
        TLS1_2 => "TLS 1.2".into(),
        v => format!("0x{v:04x}"),
    }
}

/// What the server answered to a hello.
#[derive(Debug, PartialEq, Eq)]
pub enum Hello {
    /// A `ServerHello`: the version and the suite chosen.
    Accepted { version: u16, suite: u16 },
    /// An alert, or the connection closed.
    Refused,
    /// No answer in time, or not TLS.
    Unclear(String),
}

/// The `ClientHello` record offering `version` and `suites` (with SNI when `host` is a name).
pub fn client_hello(version: u16, suites: &[u16], host: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let mut ext = Vec::new();
    if let Some(host) = host.filter(|h| h.len() < 256 && h.parse::<std::net::IpAddr>().is_err()) {
        let name = host.as_bytes();
        // Bounded above: the lengths fit in u16.
        let n = name.len() as u16;
        ext.extend_from_slice(&[0x00, 0x00]);
        ext.extend_from_slice(&(n + 5).to_be_bytes());
        ext.extend_from_slice(&(n + 3).to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&n.to_be_bytes());
        ext.extend_from_slice(name);
    }
    // supported_groups: x25519, secp256r1, secp384r1.
    ext.extend_from_slice(&[
        0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18,
    ]);
    // ec_point_formats: uncompressed.
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    // signature_algorithms (read by TLS 1.2 servers only).
    let sigs: &[u8] = &[
        0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05,
        0x01, 0x06, 0x01, 0x02, 0x01, 0x02, 0x03,
    ];
    ext.extend_from_slice(&[0x00, 0x0d]);
    ext.extend_from_slice(&((sigs.len() + 2) as u16).to_be_bytes());
    ext.extend_from_slice(&(sigs.len() as u16).to_be_bytes());
    ext.extend_from_slice(sigs);
    // renegotiation_info, empty.
    ext.extend_from_slice(&[0xff, 0x01, 0x00, 0x01, 0x00]);

    let mut body = Vec::new();
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&random);
    body.push(0); // no session id
    body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[0x01, 0x00]); // compression: null only
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);

    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Reads the `ServerHello`'s version and suite from the start of an answer.
pub fn parse_answer(data: &[u8]) -> Hello {
    match data.first() {
        None => return Hello::Refused,
        Some(0x15) => return Hello::Refused,
        Some(0x16) => {}
        Some(b) => {
            return Hello::Unclear(format!("not a TLS handshake record (first byte 0x{b:02x})"));
        }
    }
    // record header (5), handshake type (1) and length (3), version (2), random (32), session id.
    if data.len() < 44 || data[5] != 0x02 {
        return Hello::Unclear("the first record is not a `ServerHello`".into());
    }
    let version = u16::from_be_bytes([data[9], data[10]]);
    let sid = usize::from(data[43]);
    let at = 44 + sid;
    let Some(suite) = data.get(at..at + 2) else {
        return Hello::Unclear("a `ServerHello` cut short".into());
    };
    Hello::Accepted {
        version,
        suite: u16::from_be_bytes([suite[0], suite[1]]),
    }
}

/// Sends one hello to `host:port` and reads the first record of the answer, within `timeout`.
pub async fn try_hello(
    host: &str,
    port: u16,
    version: u16,
    suites: &[u16],
    timeout: Duration,
) -> Hello {
    let mut random = [0u8; 32];
    for (i, chunk) in random.chunks_mut(8).enumerate() {
        use std::hash::{BuildHasher as _, Hasher as _};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_be_bytes());
    }
    let hello = client_hello(version, suites, Some(host), random);
    let exchange = async {
        let addr = host.trim_start_matches('[').trim_end_matches(']');
        let mut stream = TcpStream::connect((addr, port)).await?;
        stream.write_all(&hello).await?;
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        // Enough of the first record for the `ServerHello`'s fields.
        while data.len() < 80 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            data.extend_from_slice(&buf[..n]);
            if data.first() == Some(&0x15) {
                break;
            }
        }
        Ok::<_, std::io::Error>(data)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(data)) => parse_answer(&data),
        Ok(Err(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ) =>
        {
            Hello::Refused
        }
        Ok(Err(e)) => Hello::Unclear(e.to_string()),
        Err(_) => Hello::Unclear("no answer in time".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_lengths_are_consistent() {
        let h = client_hello(TLS1_0, LEGACY_SUITES, Some("api.example.com"), [7; 32]);
        assert_eq!(h[0], 0x16);
        assert_eq!(usize::from(u16::from_be_bytes([h[3], h[4]])), h.len() - 5);
        assert_eq!(h[5], 0x01);
        let hs = u32::from_be_bytes([0, h[6], h[7], h[8]]) as usize;
        assert_eq!(hs, h.len() - 9);
        assert_eq!(u16::from_be_bytes([h[9], h[10]]), TLS1_0);
        // An IP address gets no SNI.
        let ip = client_hello(TLS1_0, LEGACY_SUITES, Some("127.0.0.1"), [7; 32]);
        assert_eq!(ip.len() + 4 + 5 + "api.example.com".len(), h.len());
    }

    #[test]
    fn answers_are_read() {
        let mut sh = vec![
            0x16, 0x03, 0x01, 0x00, 0x4a, 0x02, 0x00, 0x00, 0x46, 0x03, 0x01,
        ];
        sh.extend_from_slice(&[0; 32]);
        sh.push(0);
        sh.extend_from_slice(&[0xc0, 0x14, 0x00]);
        assert_eq!(
            parse_answer(&sh),
            Hello::Accepted {
                version: TLS1_0,
                suite: 0xc014
            }
        );
        assert_eq!(
            parse_answer(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]),
            Hello::Refused
        );
        assert_eq!(parse_answer(&[]), Hello::Refused);
        assert!(matches!(parse_answer(b"HTTP/1.1 400"), Hello::Unclear(_)));
        assert!(matches!(parse_answer(&sh[..20]), Hello::Unclear(_)));
    }

    /// A server of its own that answers any hello with an SSL 3.0 `ServerHello` (no TLS library
    /// of today still speaks SSL 3.0): the hello reaches it and its answer is read as accepted.
    #[tokio::test]
    async fn an_ssl3_server_hello_is_accepted_as_ssl3() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).await.unwrap();
            // The hello offers SSL 3.0 in its body.
            assert_eq!(
                u16::from_be_bytes([buf[9], buf[10]]),
                SSL3_0,
                "{:?}",
                &buf[..n]
            );
            let mut sh = vec![
                0x16, 0x03, 0x00, 0x00, 0x4a, 0x02, 0x00, 0x00, 0x46, 0x03, 0x00,
            ];
            sh.extend_from_slice(&[0; 32]);
            sh.push(0);
            sh.extend_from_slice(&[0x00, 0x0a, 0x00]);
            sh.resize(80, 0);
            s.write_all(&sh).await.unwrap();
        });
        let hello = try_hello(
            "127.0.0.1",
            port,
            SSL3_0,
            LEGACY_SUITES,
            Duration::from_secs(5),
        )
        .await;
        server.await.unwrap();
        assert_eq!(
            hello,
            Hello::Accepted {
                version: SSL3_0,
                suite: 0x000a
            }
        );
        assert_eq!(version_name(SSL3_0), "SSL 3.0");
    }
}
