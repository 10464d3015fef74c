//! The offline demo: in-process stand-ins for wetransfer.com's DNS, port 80 and port 443, on loopback only.
//!
//! Everything else in a demo run is real: the hosts file, nsswitch.conf and resolv.conf are read, and
//! the sockets, syscalls and kernel behaviour are the same as against the real site.

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType, rdata::A};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

/// The name the demo answers for.
pub const DEMO_HOST: &str = "wetransfer.com";

/// What the stand-in sends, modelled on the real site's port-80 answer (a 301 to https).
pub const DEMO_RESPONSE_BODY: &str = "<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n<center><h1>301 Moved Permanently</h1></center>\r\n</body>\r\n</html>\r\n";

/// How the explanation names the demo's CA.
pub const DEMO_CA_LABEL: &str =
    "the demo CA (made at start-up by this process, trusted for this run only)";

/// Running stand-ins.
pub struct StandIns {
    pub dns: SocketAddr,
    pub http: SocketAddr,
    pub https: SocketAddr,
    /// The demo CA's certificate (DER), to trust for this run.
    pub ca_der: Vec<u8>,
}

/// Builds the stand-in DNS server's reply to one query, or None for garbage.
pub fn dns_reply(query: &[u8]) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    let question = q.queries.first()?.clone();
    let mut reply = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    reply.metadata.recursion_desired = q.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.metadata.authoritative = true;
    reply.add_query(question.clone());
    let name = question
        .name()
        .to_ascii()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if name != DEMO_HOST {
        reply.metadata.response_code = ResponseCode::NXDomain;
    } else if question.query_type() == RecordType::A {
        reply.add_answer(Record::from_rdata(
            question.name().clone(),
            60,
            RData::A(A(Ipv4Addr::LOCALHOST)),
        ));
    }
    reply.to_vec().ok()
}

fn serve_dns(sock: UdpSocket) {
    let mut buf = [0u8; 1500];
    // The demo process exits when its one request is done; this loop lives as long as the process.
    while let Ok((n, from)) = sock.recv_from(&mut buf) {
        if let Some(reply) = dns_reply(&buf[..n]) {
            let _ = sock.send_to(&reply, from);
        }
    }
}

/// The stand-in's full HTTP response.
pub fn http_response() -> String {
    format!(
        "HTTP/1.1 301 Moved Permanently\r\nServer: wtcurl-demo-stand-in\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: keep-alive\r\nLocation: https://wetransfer.com/\r\n\r\n{DEMO_RESPONSE_BODY}",
        DEMO_RESPONSE_BODY.len()
    )
}

fn serve_http(listener: TcpListener) {
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { continue };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = s.write_all(http_response().as_bytes());
        // Keep the connection open until the client closes, like a keep-alive server.
        let _ = s.read(&mut buf);
    }
}

/// Starts the stand-ins on 127.0.0.1, on ports the kernel picks.
pub fn start() -> std::io::Result<StandIns> {
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    let tcp = TcpListener::bind("127.0.0.1:0")?;
    let ca = crate::demo_tls::DemoCa::new(DEMO_HOST).map_err(std::io::Error::other)?;
    let ins = StandIns {
        dns: udp.local_addr()?,
        http: tcp.local_addr()?,
        https: crate::demo_tls::start(&ca)?,
        ca_der: ca.ca_der.clone(),
    };
    std::thread::spawn(move || serve_dns(udp));
    std::thread::spawn(move || serve_http(tcp));
    Ok(ins)
}

/// What the demo tells the user before the explanation starts.
pub fn banner(s: &StandIns) -> String {
    format!(
        "wtcurl --demo: runs `wtcurl -L {DEMO_HOST} --explain --kernel-view --ladder` with no network.\n\
         Stand-ins (in this process, on loopback):\n  \
         - a DNS server on {dns} (udp) that answers {DEMO_HOST} A 127.0.0.1, used via --dns-servers {dns}\n  \
         - an HTTP server on {http} that answers like {DEMO_HOST}'s port 80: 301 to https://{DEMO_HOST}/, used via --connect-to {DEMO_HOST}:80::{hp}\n  \
         - an HTTPS server on {https} with a certificate for {DEMO_HOST} signed by a CA this process made a moment ago, used via --connect-to {DEMO_HOST}:443::{sp}; that CA is trusted for this run only\n\
         The name still goes through DNS; --connect-to changes only the port.\n\
         Real: the hosts file, nsswitch.conf and resolv.conf reads, every socket and syscall, the kernel's TCP, the TLS 1.3 handshake.\n",
        dns = s.dns,
        http = s.http,
        https = s.https,
        hp = s.http.port(),
        sp = s.https.port()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::Name;
    use std::str::FromStr;

    fn query(name: &str, t: RecordType) -> Vec<u8> {
        let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_str(name).unwrap(), t));
        m.to_vec().unwrap()
    }

    #[test]
    fn answers_wetransfer_a_and_nxdomain_otherwise() {
        let r = Message::from_vec(&dns_reply(&query("wetransfer.com.", RecordType::A)).unwrap())
            .unwrap();
        assert_eq!(r.metadata.id, 0x1234);
        assert_eq!(r.answers.len(), 1);
        let r = Message::from_vec(&dns_reply(&query("wetransfer.com.", RecordType::AAAA)).unwrap())
            .unwrap();
        assert_eq!(
            (r.answers.len(), r.metadata.response_code),
            (0, ResponseCode::NoError)
        );
        let r =
            Message::from_vec(&dns_reply(&query("example.org.", RecordType::A)).unwrap()).unwrap();
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
        assert!(dns_reply(b"\x00garbage").is_none());
    }

    #[test]
    fn response_is_a_well_formed_301() {
        let r = http_response();
        assert!(r.starts_with("HTTP/1.1 301 Moved Permanently\r\n"));
        assert!(r.contains("Location: https://wetransfer.com/\r\n"));
        assert!(r.ends_with(DEMO_RESPONSE_BODY));
    }
}
