//! DNS messages on the wire: build the A/AAAA queries wtcurl sends and check and decode the answers.
//!
//! Encoding and decoding of the message body is done by hickory-proto; this module reads the
//! 12-byte header itself (so a truncated or half-broken answer can still be matched to its query)
//! and turns the answer section into [`DnsRecord`]s, the CNAME chain and the addresses.
//!
//! Names are shown in absolute form with the trailing dot (`www.example.com.`), as dig prints them,
//! with bytes outside `[A-Za-z0-9-_]` escaped as `\DDD`.

use crate::event::DnsRecord;
use hickory_proto::op::{Message, MessageType, OpCode, Query as HQuery};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};
use std::fmt::{self, Write as _};
use std::net::IpAddr;

/// The two query types wtcurl asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QType {
    A,
    Aaaa,
}

impl QType {
    pub fn as_str(self) -> &'static str {
        match self {
            QType::A => "A",
            QType::Aaaa => "AAAA",
        }
    }

    /// The numeric TYPE on the wire.
    pub fn code(self) -> u16 {
        match self {
            QType::A => 1,
            QType::Aaaa => 28,
        }
    }

    fn record_type(self) -> RecordType {
        match self {
            QType::A => RecordType::A,
            QType::Aaaa => RecordType::AAAA,
        }
    }
}

/// A query ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    /// Absolute, with the trailing dot, as it is encoded.
    pub qname: String,
    pub qtype: QType,
    /// The whole DNS message (without the TCP length prefix).
    pub bytes: Vec<u8>,
}

/// Builds a standard query (opcode QUERY, RD set, one question of class IN, no EDNS, like glibc
/// without `options edns0`). `name` is taken as absolute whether or not it ends in a dot.
pub fn build_query(id: u16, name: &str, qtype: QType) -> Result<Query, String> {
    if name.is_empty() || name == "." {
        return Err("empty name".into());
    }
    if !name.is_ascii() {
        return Err(format!("{name:?} is not ASCII (punycode expected)"));
    }
    let mut qname =
        Name::from_ascii(name).map_err(|e| format!("{name:?} is not a valid DNS name: {e}"))?;
    qname.set_fqdn(true);
    // Name checks each label (1..=63 bytes); the whole name must fit in 255 bytes on the wire.
    if qname.len() > 255 {
        return Err(format!("{name:?} is longer than 255 bytes"));
    }
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(HQuery::query(qname.clone(), qtype.record_type()));
    let bytes = msg
        .to_vec()
        .map_err(|e| format!("cannot encode a query for {name:?}: {e}"))?;
    Ok(Query {
        id,
        qname: name_to_string(&qname),
        qtype,
        bytes,
    })
}

/// The fixed 12-byte header, read by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub qr: bool,
    pub opcode: u8,
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    pub ad: bool,
    pub cd: bool,
    pub rcode: u8,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    /// Reads the header; `None` if the message is shorter than 12 bytes.
    pub fn read(b: &[u8]) -> Option<Header> {
        let h = b.get(..12)?;
        let u16_at = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        Some(Header {
            id: u16_at(0),
            qr: h[2] & 0x80 != 0,
            opcode: (h[2] >> 3) & 0x0f,
            aa: h[2] & 0x04 != 0,
            tc: h[2] & 0x02 != 0,
            rd: h[2] & 0x01 != 0,
            ra: h[3] & 0x80 != 0,
            ad: h[3] & 0x20 != 0,
            cd: h[3] & 0x10 != 0,
            rcode: h[3] & 0x0f,
            qdcount: u16_at(4),
            ancount: u16_at(6),
            nscount: u16_at(8),
            arcount: u16_at(10),
        })
    }

    /// The flags as dig prints them: `qr aa tc rd ra ad cd`, those set, in that order.
    pub fn flags(&self) -> String {
        [
            (self.qr, "qr"),
            (self.aa, "aa"),
            (self.tc, "tc"),
            (self.rd, "rd"),
            (self.ra, "ra"),
            (self.ad, "ad"),
            (self.cd, "cd"),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// The flags of a query built by [`build_query`] (only RD).
pub const QUERY_FLAGS: &str = "rd";

/// RCODE values wtcurl acts on.
pub const NOERROR: u8 = 0;
pub const SERVFAIL: u8 = 2;
pub const NXDOMAIN: u8 = 3;
pub const REFUSED: u8 = 5;

/// The mnemonic of an RCODE, as dig prints it.
pub fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        n => format!("RCODE{n}"),
    }
}

/// An answer accepted for a query: the header, the decoded answer section and what it means.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub header: Header,
    pub size: usize,
    /// Every record of the answer section, in order.
    pub records: Vec<DnsRecord>,
    /// The CNAME targets followed from the question name, in order (the question name not included).
    pub cname_chain: Vec<String>,
    /// Addresses of the asked type owned by the question name or a name of its CNAME chain.
    pub addresses: Vec<IpAddr>,
    /// The body could not be decoded (only accepted with TC set: the TCP retry replaces it).
    pub undecodable: Option<String>,
}

impl Answer {
    pub fn rcode(&self) -> u8 {
        self.header.rcode
    }
}

/// Why a message read from the network was not accepted as the answer to a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reject {
    /// Not a DNS message at all, or not one that can be an answer to our query.
    Malformed(String),
    /// A well-formed answer, but not to this query.
    Mismatch(String),
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::Malformed(s) | Reject::Mismatch(s) => f.write_str(s),
        }
    }
}

/// Checks that `bytes` answers `q` (id, QR, opcode, the question) and decodes it.
///
/// The id is compared first, so a stray packet is reported as a mismatch even when it is garbage.
/// A message with TC set whose body cannot be decoded is still accepted (with `undecodable`): the
/// caller retries over TCP anyway.
pub fn check_answer(q: &Query, bytes: &[u8]) -> Result<Answer, Reject> {
    let Some(header) = Header::read(bytes) else {
        return Err(Reject::Malformed(format!(
            "{} bytes: shorter than a DNS header (12 bytes)",
            bytes.len()
        )));
    };
    if header.id != q.id {
        return Err(Reject::Mismatch(format!(
            "id {} does not match the query's id {}",
            header.id, q.id
        )));
    }
    if !header.qr {
        return Err(Reject::Malformed(format!(
            "id {}: QR is 0 (a query, not a response)",
            header.id
        )));
    }
    if header.opcode != 0 {
        return Err(Reject::Malformed(format!(
            "id {}: opcode {} is not QUERY",
            header.id, header.opcode
        )));
    }
    let msg = match Message::from_vec(bytes) {
        Ok(m) => m,
        Err(e) if header.tc => {
            return Ok(Answer {
                header,
                size: bytes.len(),
                records: Vec::new(),
                cname_chain: Vec::new(),
                addresses: Vec::new(),
                undecodable: Some(e.to_string()),
            });
        }
        Err(e) => {
            return Err(Reject::Malformed(format!(
                "id {}: cannot be decoded: {e}",
                header.id
            )));
        }
    };
    // A server may omit the question in an error answer (FORMERR, REFUSED...); an answer that
    // has one must repeat ours exactly (RFC 5452 section 9.1).
    match msg.queries.as_slice() {
        [] if header.rcode != NOERROR && msg.answers.is_empty() => {}
        [only] => {
            let name = name_to_string(only.name());
            if !name.eq_ignore_ascii_case(&q.qname)
                || only.query_type() != q.qtype.record_type()
                || only.query_class() != DNSClass::IN
            {
                return Err(Reject::Mismatch(format!(
                    "id {}: question {} {} {} is not ours ({} IN {})",
                    header.id,
                    name,
                    class_name(only.query_class()),
                    type_name(only.query_type()),
                    q.qname,
                    q.qtype.as_str()
                )));
            }
        }
        qs => {
            return Err(Reject::Mismatch(format!(
                "id {}: {} questions instead of ours ({} IN {})",
                header.id,
                qs.len(),
                q.qname,
                q.qtype.as_str()
            )));
        }
    }
    let records: Vec<DnsRecord> = msg
        .answers
        .iter()
        .map(|r| DnsRecord {
            name: name_to_string(&r.name),
            rtype: type_name(r.record_type()),
            ttl: r.ttl,
            data: rdata_to_string(&r.data),
        })
        .collect();

    // Follow CNAMEs from the question name; bounded by the number of records, loops stop it.
    let mut chain: Vec<String> = Vec::new();
    let mut current = q.qname.to_ascii_lowercase();
    let mut owners = vec![current.clone()];
    for _ in 0..msg.answers.len() {
        let next = msg.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(target) if name_to_string(&r.name).to_ascii_lowercase() == current => {
                Some(name_to_string(target))
            }
            _ => None,
        });
        let Some(target) = next else { break };
        let lower = target.to_ascii_lowercase();
        if owners.contains(&lower) {
            break;
        }
        chain.push(target);
        owners.push(lower.clone());
        current = lower;
    }
    let addresses = msg
        .answers
        .iter()
        .filter(|r| owners.contains(&name_to_string(&r.name).to_ascii_lowercase()))
        .filter_map(|r| match (&r.data, q.qtype) {
            (RData::A(a), QType::A) => Some(IpAddr::V4(a.0)),
            (RData::AAAA(a), QType::Aaaa) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect();
    Ok(Answer {
        header,
        size: bytes.len(),
        records,
        cname_chain: chain,
        addresses,
        undecodable: None,
    })
}

/// A name in absolute form with its trailing dot, escaping like dig; never fails.
pub fn name_to_string(name: &Name) -> String {
    let mut s = String::new();
    for label in name.iter() {
        for &b in label {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*' {
                s.push(char::from(b));
            } else if b == b'.' || b == b'\\' {
                s.push('\\');
                s.push(char::from(b));
            } else {
                let _ = write!(s, "\\{b:03}");
            }
        }
        s.push('.');
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

/// The mnemonic of a record type (`TYPE65280` for unknown ones).
pub fn type_name(t: RecordType) -> String {
    match t {
        RecordType::Unknown(n) => format!("TYPE{n}"),
        other => safe_display(&other).unwrap_or_else(|| format!("TYPE{}", u16::from(other))),
    }
}

fn class_name(c: DNSClass) -> String {
    match c {
        DNSClass::IN => "IN".into(),
        other => format!("CLASS{}", u16::from(other)),
    }
}

fn rdata_to_string(d: &RData) -> String {
    match d {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(n) => name_to_string(n),
        RData::NS(n) => name_to_string(n),
        RData::PTR(n) => name_to_string(n),
        other => safe_display(other).unwrap_or_else(|| "(not printable)".into()),
    }
}

/// `to_string` that returns `None` instead of panicking when a Display impl reports an error.
fn safe_display(d: &dyn fmt::Display) -> Option<String> {
    let mut s = String::new();
    write!(s, "{d}").ok()?;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query for `www.example.test. IN A` with id 0x1234, byte by byte.
    const QUERY_A: &[u8] = &[
        0x12, 0x34, // ID
        0x01, 0x00, // QR=0 OPCODE=0 AA=0 TC=0 RD=1 | RA=0 Z=0 AD=0 CD=0 RCODE=0
        0x00, 0x01, // QDCOUNT 1
        0x00, 0x00, // ANCOUNT 0
        0x00, 0x00, // NSCOUNT 0
        0x00, 0x00, // ARCOUNT 0 (no EDNS OPT record)
        // offset 12: QNAME
        3, b'w', b'w', b'w', //
        7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', //
        4, b't', b'e', b's', b't', // offset 24: "test"
        0,    // root
        0x00, 0x01, // QTYPE A
        0x00, 0x01, // QCLASS IN
    ];

    /// The answer: www.example.test CNAME web.example.net, web.example.net CNAME edge.cdn.test,
    /// edge.cdn.test A 192.0.2.7, using compression pointers into the question and earlier records.
    const ANSWER_A: &[u8] = &[
        0x12, 0x34, // ID
        0x81, 0x80, // QR=1 RD=1 | RA=1 RCODE=0 (NOERROR)
        0x00, 0x01, // QDCOUNT 1
        0x00, 0x03, // ANCOUNT 3
        0x00, 0x00, // NSCOUNT 0
        0x00, 0x00, // ARCOUNT 0
        // offset 12: the question, as sent
        3, b'w', b'w', b'w', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 4, b't', b'e', b's', b't',
        0, //
        0x00, 0x01, 0x00, 0x01, // A IN
        // offset 34: record 1
        0xc0, 0x0c, // NAME: pointer to offset 12 (www.example.test)
        0x00, 0x05, // TYPE CNAME
        0x00, 0x01, // CLASS IN
        0x00, 0x00, 0x01, 0x2c, // TTL 300
        0x00, 0x11, // RDLENGTH 17
        // offset 46: web.example.net
        3, b'w', b'e', b'b', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'n', b'e', b't', 0,
        // offset 63: record 2
        0xc0, 0x2e, // NAME: pointer to offset 46 (web.example.net)
        0x00, 0x05, // TYPE CNAME
        0x00, 0x01, // CLASS IN
        0x00, 0x00, 0x00, 0x3c, // TTL 60
        0x00, 0x0b, // RDLENGTH 11
        // offset 75: edge.cdn + pointer to offset 24 ("test")
        4, b'e', b'd', b'g', b'e', 3, b'c', b'd', b'n', 0xc0, 0x18,
        // offset 86: record 3
        0xc0, 0x4b, // NAME: pointer to offset 75 (edge.cdn.test)
        0x00, 0x01, // TYPE A
        0x00, 0x01, // CLASS IN
        0x00, 0x00, 0x00, 0x1e, // TTL 30
        0x00, 0x04, // RDLENGTH 4
        192, 0, 2, 7, // 192.0.2.7
    ];

    fn query() -> Query {
        build_query(0x1234, "www.example.test", QType::A).unwrap()
    }

    #[test]
    fn query_bytes_are_exactly_the_annotated_ones() {
        let q = query();
        assert_eq!(q.bytes, QUERY_A);
        assert_eq!(q.qname, "www.example.test.");
        assert_eq!(q.id, 0x1234);
        let h = Header::read(&q.bytes).unwrap();
        assert_eq!(h.flags(), QUERY_FLAGS);
        // With a trailing dot: the same bytes.
        assert_eq!(
            build_query(0x1234, "www.example.test.", QType::A)
                .unwrap()
                .bytes,
            QUERY_A
        );
    }

    #[test]
    fn aaaa_query_differs_only_in_qtype() {
        let q = build_query(0x1234, "www.example.test", QType::Aaaa).unwrap();
        let mut expected = QUERY_A.to_vec();
        expected[31] = 28; // QTYPE AAAA
        assert_eq!(q.bytes, expected);
    }

    #[test]
    fn answer_with_cname_chain_is_decoded() {
        assert_eq!(ANSWER_A.len(), 102);
        let a = check_answer(&query(), ANSWER_A).unwrap();
        assert_eq!(a.header.flags(), "qr rd ra");
        assert_eq!(rcode_name(a.rcode()), "NOERROR");
        assert_eq!(a.size, 102);
        assert_eq!(
            a.records,
            vec![
                DnsRecord {
                    name: "www.example.test.".into(),
                    rtype: "CNAME".into(),
                    ttl: 300,
                    data: "web.example.net.".into()
                },
                DnsRecord {
                    name: "web.example.net.".into(),
                    rtype: "CNAME".into(),
                    ttl: 60,
                    data: "edge.cdn.test.".into()
                },
                DnsRecord {
                    name: "edge.cdn.test.".into(),
                    rtype: "A".into(),
                    ttl: 30,
                    data: "192.0.2.7".into()
                },
            ]
        );
        assert_eq!(a.cname_chain, ["web.example.net.", "edge.cdn.test."]);
        assert_eq!(a.addresses, [IpAddr::from([192, 0, 2, 7])]);
        assert!(a.undecodable.is_none());
    }

    #[test]
    fn address_not_on_the_chain_is_not_used() {
        let mut b = ANSWER_A.to_vec();
        // Point record 3's owner at web.example.net instead... still on the chain: used.
        b[86..88].copy_from_slice(&[0xc0, 0x2e]);
        assert_eq!(
            check_answer(&query(), &b).unwrap().addresses,
            [IpAddr::from([192, 0, 2, 7])]
        );
        // Owner "test." (offset 24) is not on the chain: listed as a record, but not an address.
        b[86..88].copy_from_slice(&[0xc0, 0x18]);
        let a = check_answer(&query(), &b).unwrap();
        assert_eq!(a.records.len(), 3);
        assert!(a.addresses.is_empty());
    }

    #[test]
    fn wrong_id_wrong_question_and_non_response_are_rejected() {
        let q = query();
        let mut b = ANSWER_A.to_vec();
        b[1] = 0x35;
        assert!(matches!(check_answer(&q, &b), Err(Reject::Mismatch(m)) if m.contains("id 4661")));

        let mut b = ANSWER_A.to_vec();
        b[14] = b'x'; // question www -> wxw
        assert!(
            matches!(check_answer(&q, &b), Err(Reject::Mismatch(m)) if m.contains("wxw.example.test."))
        );

        let mut b = ANSWER_A.to_vec();
        b[31] = 28; // question type AAAA
        assert!(matches!(check_answer(&q, &b), Err(Reject::Mismatch(_))));

        let mut b = ANSWER_A.to_vec();
        b[2] &= 0x7f; // QR = 0
        assert!(matches!(check_answer(&q, &b), Err(Reject::Malformed(_))));

        // The question in other case is still ours (0x20 randomisation by servers).
        let mut b = ANSWER_A.to_vec();
        b[13] = b'W';
        assert!(check_answer(&q, &b).is_ok());
    }

    #[test]
    fn truncated_bytes_are_malformed_unless_tc() {
        let q = query();
        assert!(matches!(
            check_answer(&q, &ANSWER_A[..5]),
            Err(Reject::Malformed(_))
        ));
        assert!(matches!(
            check_answer(&q, &ANSWER_A[..60]),
            Err(Reject::Malformed(_))
        ));
        let mut b = ANSWER_A[..60].to_vec();
        b[2] |= 0x02; // TC
        let a = check_answer(&q, &b).unwrap();
        assert!(a.header.tc);
        assert_eq!(a.header.flags(), "qr tc rd ra");
        assert!(a.undecodable.is_some());
    }

    #[test]
    fn error_rcodes_and_names() {
        let mut b = QUERY_A.to_vec();
        b[2] = 0x81;
        b[3] = 0x83; // RA, NXDOMAIN
        let a = check_answer(&query(), &b).unwrap();
        assert_eq!(rcode_name(a.rcode()), "NXDOMAIN");
        assert_eq!(rcode_name(2), "SERVFAIL");
        assert_eq!(rcode_name(5), "REFUSED");
        assert_eq!(rcode_name(15), "RCODE15");
        // REFUSED without a question section is accepted.
        let refused = [0x12, 0x34, 0x81, 0x05, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(check_answer(&query(), &refused).unwrap().rcode(), REFUSED);
        // NOERROR without a question is not.
        let empty = [0x12, 0x34, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(check_answer(&query(), &empty).is_err());
    }

    #[test]
    fn bad_names_are_refused_before_sending() {
        assert!(build_query(1, "", QType::A).is_err());
        assert!(build_query(1, "a..b", QType::A).is_err());
        assert!(build_query(1, &"a".repeat(64), QType::A).is_err());
        let long = vec!["abcdefghij"; 30].join(".");
        assert!(build_query(1, &long, QType::A).is_err());
        assert!(build_query(1, "bücher.example", QType::A).is_err());
        assert!(build_query(1, "_srv.x-y.example", QType::A).is_ok());
    }

    #[test]
    fn names_are_escaped() {
        let n = Name::from_labels(vec![&b"a.b"[..], &b"c d"[..], &b"e"[..]]).unwrap();
        assert_eq!(name_to_string(&n), "a\\.b.c\\032d.e.");
        assert_eq!(name_to_string(&Name::root()), ".");
    }

    /// Mutated and random packets never panic (a tiny deterministic fuzzer).
    #[test]
    fn garbage_never_panics() {
        let q = query();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..20_000 {
            let mut b = ANSWER_A.to_vec();
            if i % 3 == 0 {
                let len = (next() % 120) as usize;
                b = (0..len).map(|_| next() as u8).collect();
                if b.len() >= 2 {
                    b[0] = 0x12;
                    b[1] = 0x34;
                }
            } else {
                for _ in 0..(1 + next() % 4) {
                    let at = (next() % b.len() as u64) as usize;
                    b[at] = next() as u8;
                }
                if i % 5 == 0 {
                    b.truncate((next() % 102) as usize);
                }
            }
            let _ = check_answer(&q, &b);
        }
    }
}
