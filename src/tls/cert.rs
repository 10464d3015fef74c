//! Reading X.509 certificates for people: subject, issuer, names, validity, key and fingerprint,
//! parsed with x509-parser from the exact DER the server sent.

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;

/// What a certificate says, ready for a `tls_certificate` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertView {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
    pub key: String,
    pub signature: String,
    pub sha256: String,
    /// The issuer and subject names are byte-for-byte equal.
    pub self_issued: bool,
    /// basicConstraints cA=TRUE.
    pub is_ca: bool,
    /// extendedKeyUsage purposes, by short name (`serverAuth`), empty when absent.
    pub eku: Vec<String>,
    /// The DER *contents* of the subject and issuer Names (what trust anchors store).
    pub subject_raw: Vec<u8>,
    pub issuer_raw: Vec<u8>,
}

/// The contents of a DER TLV (its value without tag and length), or the input if it is not one.
pub fn der_contents(tlv: &[u8]) -> &[u8] {
    let Some(&first_len) = tlv.get(1) else {
        return tlv;
    };
    let (len, start) = if first_len < 0x80 {
        (usize::from(first_len), 2)
    } else {
        let n = usize::from(first_len & 0x7f);
        if n == 0 || n > 4 {
            return tlv;
        }
        let Some(bytes) = tlv.get(2..2 + n) else {
            return tlv;
        };
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)),
            2 + n,
        )
    };
    tlv.get(start..start.saturating_add(len)).unwrap_or(tlv)
}

/// A Name given as DER contents (a trust anchor's subject) in `CN=…, O=…` form.
pub fn name_from_contents(contents: &[u8]) -> String {
    let mut der = vec![0x30];
    let len = contents.len();
    if len < 0x80 {
        der.push(len as u8);
    } else if len <= 0xff {
        der.extend_from_slice(&[0x81, len as u8]);
    } else if len <= 0xffff {
        der.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    } else {
        return "(name too long)".into();
    }
    der.extend_from_slice(contents);
    match X509Name::from_der(&der) {
        Ok((_, n)) => n.to_string(),
        Err(_) => "(unparsable name)".into(),
    }
}

/// (year, month, day) of a Unix day number (Howard Hinnant's civil_from_days; proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-01-13 23:59:59 UTC` from a Unix time (proleptic Gregorian, no leap seconds).
pub fn utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Uppercase colon-separated SHA-256 of `der`, as `openssl x509 -fingerprint -sha256` prints it.
/// The hash is the crypto provider's own SHA-256 (rustls' ring provider).
pub fn sha256_fingerprint(der: &[u8]) -> String {
    let Some(suite) = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256.tls13() else {
        return String::new();
    };
    let h = suite.common.hash_provider;
    if h.algorithm() != rustls::crypto::hash::HashAlgorithm::SHA256 {
        return String::new();
    }
    let out = h.hash(der);
    out.as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn rsa_bits(modulus: &[u8]) -> usize {
    let m: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => &modulus[i..],
        None => &[],
    };
    match m.first() {
        Some(top) => m.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

fn key_of(cert: &X509Certificate) -> String {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    match alg.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => match spki.parsed() {
            Ok(PublicKey::RSA(k)) => format!("RSA {} bits", rsa_bits(k.modulus)),
            _ => "RSA".into(),
        },
        "1.2.840.10045.2.1" => match curve.as_deref() {
            Some("1.2.840.10045.3.1.7") => "EC P-256".into(),
            Some("1.3.132.0.34") => "EC P-384".into(),
            Some("1.3.132.0.35") => "EC P-521".into(),
            Some(o) => format!("EC (curve {o})"),
            None => "EC".into(),
        },
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        other => format!("unknown key type {other}"),
    }
}

fn sig_name(cert: &X509Certificate) -> String {
    let oid = &cert.signature_algorithm.algorithm;
    match x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry()) {
        Ok(n) => n.to_owned(),
        Err(_) => match oid.to_id_string().as_str() {
            "1.2.840.113549.1.1.10" => "rsassaPss".into(),
            "1.3.101.112" => "ED25519".into(),
            o => o.to_owned(),
        },
    }
}

fn san_list(cert: &X509Certificate) -> Vec<String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .map(|g| match g {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::IPAddress(b) => match b.len() {
                4 => format!("IP:{}", std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3])),
                16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(b);
                    format!("IP:{}", std::net::Ipv6Addr::from(a))
                }
                _ => format!("IP:(bad length {})", b.len()),
            },
            GeneralName::RFC822Name(e) => format!("email:{e}"),
            GeneralName::URI(u) => format!("URI:{u}"),
            other => format!("{other:?}"),
        })
        .collect()
}

fn eku_list(cert: &X509Certificate) -> Vec<String> {
    let Ok(Some(ext)) = cert.extended_key_usage() else {
        return Vec::new();
    };
    let e = ext.value;
    let mut out = Vec::new();
    for (on, name) in [
        (e.any, "anyExtendedKeyUsage"),
        (e.server_auth, "serverAuth"),
        (e.client_auth, "clientAuth"),
        (e.code_signing, "codeSigning"),
        (e.email_protection, "emailProtection"),
        (e.time_stamping, "timeStamping"),
        (e.ocsp_signing, "OCSPSigning"),
    ] {
        if on {
            out.push(name.to_owned());
        }
    }
    out.extend(e.other.iter().map(|o| o.to_id_string()));
    out
}

/// Parses one certificate. `None` when the DER is not a certificate x509-parser can read.
pub fn view(der: &[u8]) -> Option<CertView> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let nb = cert.validity().not_before.timestamp();
    let na = cert.validity().not_after.timestamp();
    let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    Some(CertView {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans: san_list(&cert),
        not_before: utc(nb),
        not_after: utc(na),
        not_before_unix: nb,
        not_after_unix: na,
        key: key_of(&cert),
        signature: sig_name(&cert),
        sha256: sha256_fingerprint(der),
        self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
        is_ca,
        eku: eku_list(&cert),
        subject_raw: der_contents(cert.subject().as_raw()).to_vec(),
        issuer_raw: der_contents(cert.issuer().as_raw()).to_vec(),
    })
}

/// Whole days from `now` until `until` (negative once past), rounded toward minus infinity.
pub fn days_left(until: i64, now: i64) -> i64 {
    (until - now).div_euclid(86_400)
}

/// Now, as a Unix time.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_768_348_799), "2026-01-13 23:59:59 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(days_left(86_400 * 3 - 1, 0), 2);
        assert_eq!(days_left(-1, 0), -1);
    }

    #[test]
    fn sha256_is_the_real_one() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            sha256_fingerprint(b"abc").replace(':', ""),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
    }

    #[test]
    fn rcgen_certificate_is_described() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut p = rcgen::CertificateParams::new(vec!["a.test".into(), "127.0.0.1".into()])
            .expect("params");
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "a.test");
        p.not_before = rcgen::date_time_ymd(2020, 1, 2);
        p.not_after = rcgen::date_time_ymd(2030, 3, 4);
        let c = p.self_signed(&key).expect("cert");
        let v = view(c.der()).expect("parses");
        assert_eq!(v.subject, "CN=a.test");
        assert_eq!(v.subject, v.issuer);
        assert!(v.self_issued);
        assert_eq!(v.sans, vec!["DNS:a.test", "IP:127.0.0.1"]);
        assert_eq!(v.not_before, "2020-01-02 00:00:00 UTC");
        assert_eq!(v.not_after, "2030-03-04 00:00:00 UTC");
        assert_eq!(v.key, "EC P-256");
        assert_eq!(v.signature, "ecdsa-with-SHA256");
        assert_eq!(v.sha256.len(), 32 * 3 - 1);
        assert_eq!(name_from_contents(&v.subject_raw), "CN=a.test");
        assert!(view(b"not a certificate").is_none());
        assert_eq!(rsa_bits(&[0, 0x80, 0]), 16);
        assert_eq!(der_contents(&[0x30, 0x02, 1, 2]), &[1, 2]);
        assert_eq!(der_contents(&[0x30, 0x85]), &[0x30, 0x85]);
        // Every single-byte corruption of a real certificate is survived (parsed or refused).
        let der = c.der().to_vec();
        for i in 0..der.len() {
            for x in [0x00, 0x80, 0xff] {
                let mut bad = der.clone();
                bad[i] ^= x | 1;
                let _ = view(&bad);
            }
        }
    }
}
