//! Decoders for the handshake messages wtcurl can read: each turns a message body into the fields
//! worth explaining (a JSON object for the `tls_message` event), and never panics on bad input.

use super::names;
use super::wire::{Reader, hex};
use serde_json::{Value, json};

/// SHA-256("HelloRetryRequest"): the fixed `random` that marks a ServerHello as a HelloRetryRequest
/// (RFC 8446 4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What a ServerHello decides, besides its JSON detail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHelloFacts {
    pub is_hrr: bool,
    /// The version chosen: supported_versions when present (TLS 1.3), else legacy_version.
    pub version: u16,
    pub cipher_suite: u16,
    pub key_share_group: Option<u16>,
}

fn names_of(list: &[u16], f: fn(u16) -> String) -> Vec<String> {
    list.iter().map(|v| f(*v)).collect()
}

/// The extensions block: (type, data) pairs, or None if it is malformed.
fn extensions(r: &mut Reader) -> Option<Vec<(u16, Vec<u8>)>> {
    if r.left() == 0 {
        return Some(Vec::new());
    }
    let block = r.vec16()?;
    let mut r = Reader::new(block);
    let mut out = Vec::new();
    while r.left() > 0 {
        let ty = r.u16()?;
        let data = r.vec16()?;
        out.push((ty, data.to_vec()));
    }
    Some(out)
}

fn alpn_list(data: &[u8]) -> Vec<String> {
    let mut r = Reader::new(data);
    let Some(list) = r.vec16() else {
        return Vec::new();
    };
    let mut r = Reader::new(list);
    let mut out = Vec::new();
    while let Some(p) = r.vec8() {
        out.push(String::from_utf8_lossy(p).into_owned());
    }
    out
}

fn server_name(data: &[u8]) -> Option<String> {
    let mut r = Reader::new(data);
    let list = r.vec16()?;
    let mut r = Reader::new(list);
    while r.left() > 0 {
        let ty = r.u8()?;
        let name = r.vec16()?;
        if ty == 0 {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
    }
    None
}

fn u16_vec16(data: &[u8]) -> Vec<u16> {
    Reader::new(data)
        .vec16()
        .map(|l| Reader::new(l).u16_list())
        .unwrap_or_default()
}

/// Decodes a ClientHello body.
pub fn client_hello(body: &[u8]) -> Option<Value> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    let random = r.take(32)?;
    let session_id = r.vec8()?;
    let suites = Reader::new(r.vec16()?).u16_list();
    let compression = r.vec8()?;
    let exts = extensions(&mut r)?;
    let mut d = json!({
        "legacy_version": names::version(legacy_version),
        "random": hex(random),
        "session_id_length": session_id.len(),
        "cipher_suites": names_of(&suites, names::cipher_suite),
        "compression_methods": compression.iter().map(|c| if *c == 0 { "null".to_owned() } else { c.to_string() }).collect::<Vec<_>>(),
        "extensions": exts.iter().map(|(t, _)| names::extension(*t)).collect::<Vec<_>>(),
        "server_name": null,
        "alpn": [],
        "supported_versions": [],
        "supported_groups": [],
        "key_share": [],
        "signature_algorithms": [],
        "pre_shared_key": false,
        "early_data": false,
        "session_ticket": "not offered",
    });
    for (ty, data) in &exts {
        match ty {
            0 => d["server_name"] = json!(server_name(data)),
            16 => d["alpn"] = json!(alpn_list(data)),
            43 => {
                let list = Reader::new(data)
                    .vec8()
                    .map(|l| Reader::new(l).u16_list())
                    .unwrap_or_default();
                d["supported_versions"] = json!(names_of(&list, names::version));
            }
            10 => d["supported_groups"] = json!(names_of(&u16_vec16(data), names::group)),
            13 => {
                d["signature_algorithms"] =
                    json!(names_of(&u16_vec16(data), names::signature_scheme))
            }
            51 => {
                let mut shares = Vec::new();
                if let Some(list) = Reader::new(data).vec16() {
                    let mut r = Reader::new(list);
                    while let (Some(g), Some(k)) = (r.u16(), r.vec16()) {
                        shares.push(json!({"group": names::group(g), "key_length": k.len()}));
                    }
                }
                d["key_share"] = json!(shares);
            }
            41 => d["pre_shared_key"] = json!(true),
            42 => d["early_data"] = json!(true),
            35 => {
                d["session_ticket"] = json!(if data.is_empty() {
                    "empty (asks the server for a ticket)".to_owned()
                } else {
                    format!("{} bytes (resuming)", data.len())
                })
            }
            45 => {
                let modes: Vec<&str> = Reader::new(data)
                    .vec8()
                    .unwrap_or_default()
                    .iter()
                    .map(|m| match m {
                        0 => "psk_ke",
                        1 => "psk_dhe_ke",
                        _ => "unknown",
                    })
                    .collect();
                d["psk_key_exchange_modes"] = json!(modes);
            }
            _ => {}
        }
    }
    Some(d)
}

/// Decodes a ServerHello body (or a HelloRetryRequest, which has the same shape).
pub fn server_hello(body: &[u8]) -> Option<(ServerHelloFacts, Value)> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    let random = r.take(32)?;
    let session_id = r.vec8()?;
    let suite = r.u16()?;
    let compression = r.u8()?;
    let exts = extensions(&mut r)?;
    let is_hrr = random == HRR_RANDOM;
    let mut facts = ServerHelloFacts {
        is_hrr,
        version: legacy_version,
        cipher_suite: suite,
        key_share_group: None,
    };
    let mut d = json!({
        "legacy_version": names::version(legacy_version),
        "random": hex(random),
        "session_id_length": session_id.len(),
        "cipher_suite": names::cipher_suite(suite),
        "compression_method": if compression == 0 { "null".to_owned() } else { compression.to_string() },
        "extensions": exts.iter().map(|(t, _)| names::extension(*t)).collect::<Vec<_>>(),
    });
    if is_hrr {
        d["note"] = json!(
            "random is SHA-256(\"HelloRetryRequest\"): the server asks for a new ClientHello"
        );
    } else if let Some(tail) = random.get(24..) {
        // RFC 8446 4.1.3: a TLS 1.3 server negotiating an older version says so in its random.
        if tail == b"DOWNGRD\x01" || tail == b"DOWNGRD\x00" {
            d["downgrade_sentinel"] = json!(true);
        }
    }
    for (ty, data) in &exts {
        match ty {
            43 => {
                if let Some(v) = Reader::new(data).u16() {
                    facts.version = v;
                }
            }
            51 => {
                let mut r = Reader::new(data);
                if let Some(g) = r.u16() {
                    facts.key_share_group = Some(g);
                    if is_hrr {
                        d["selected_group"] = json!(names::group(g));
                    } else {
                        let key_len = r.vec16().map(<[u8]>::len);
                        d["key_share"] = json!({"group": names::group(g), "key_length": key_len});
                    }
                }
            }
            44 => d["cookie"] = json!(true),
            16 => d["alpn"] = json!(alpn_list(data).into_iter().next()),
            23 => d["extended_master_secret"] = json!(true),
            41 => d["pre_shared_key"] = json!("accepted"),
            _ => {}
        }
    }
    d["version"] = json!(names::version(facts.version));
    Some((facts, d))
}

/// EncryptedExtensions (TLS 1.3): the extensions the server sends under encryption.
pub fn encrypted_extensions(body: &[u8]) -> Option<Value> {
    let exts = extensions(&mut Reader::new(body))?;
    let mut d = json!({
        "extensions": exts.iter().map(|(t, _)| names::extension(*t)).collect::<Vec<_>>(),
        "alpn": null,
    });
    for (ty, data) in &exts {
        match ty {
            16 => d["alpn"] = json!(alpn_list(data).into_iter().next()),
            0 => d["server_name_acknowledged"] = json!(true),
            10 => d["supported_groups"] = json!(names_of(&u16_vec16(data), names::group)),
            28 => d["record_size_limit"] = json!(Reader::new(data).u16()),
            _ => {}
        }
    }
    Some(d)
}

/// Certificate: the DER of each certificate, in order (TLS 1.3 adds a context and per-entry
/// extensions). Returns the detail and the certificates.
pub fn certificate(body: &[u8], tls13: bool) -> Option<(Value, Vec<Vec<u8>>)> {
    let mut r = Reader::new(body);
    if tls13 {
        r.vec8()?; // certificate_request_context: empty for a server certificate
    }
    let list = r.vec24()?;
    let mut r = Reader::new(list);
    let mut certs = Vec::new();
    let mut entry_exts = 0usize;
    while r.left() > 0 {
        certs.push(r.vec24()?.to_vec());
        if tls13 {
            let e = r.vec16()?;
            if !e.is_empty() {
                entry_exts += 1;
            }
        }
    }
    let d = json!({
        "certificates": certs.len(),
        "sizes": certs.iter().map(Vec::len).collect::<Vec<_>>(),
        "entries_with_extensions": entry_exts,
    });
    Some((d, certs))
}

/// CertificateVerify (TLS 1.3): the signature over the transcript.
pub fn certificate_verify(body: &[u8]) -> Option<Value> {
    let mut r = Reader::new(body);
    let scheme = r.u16()?;
    let sig = r.vec16()?;
    Some(
        json!({"signature_scheme": names::signature_scheme(scheme), "signature_length": sig.len()}),
    )
}

/// ServerKeyExchange (TLS 1.2, ECDHE): the curve, the server's ephemeral key and its signature.
pub fn server_key_exchange(body: &[u8]) -> Option<Value> {
    let mut r = Reader::new(body);
    let curve_type = r.u8()?;
    if curve_type != 3 {
        return Some(
            json!({"curve_type": curve_type, "note": "not named_curve ECDHE: not decoded"}),
        );
    }
    let group = r.u16()?;
    let key = r.vec8()?;
    let scheme = r.u16()?;
    let sig = r.vec16()?;
    Some(json!({
        "curve_type": "named_curve",
        "group": names::group(group),
        "public_key_length": key.len(),
        "signature_scheme": names::signature_scheme(scheme),
        "signature_length": sig.len(),
    }))
}

/// ClientKeyExchange (TLS 1.2, ECDHE): the client's ephemeral public key.
pub fn client_key_exchange(body: &[u8]) -> Option<Value> {
    let key = Reader::new(body).vec8()?;
    Some(json!({"public_key_length": key.len()}))
}

/// NewSessionTicket: TLS 1.2 (lifetime hint, ticket) or TLS 1.3 (adds age_add, nonce, extensions).
pub fn new_session_ticket(body: &[u8], tls13: bool) -> Option<Value> {
    let mut r = Reader::new(body);
    let lifetime = r.u32()?;
    if tls13 {
        r.u32()?; // ticket_age_add
        r.vec8()?; // ticket_nonce
    }
    let ticket = r.vec16()?;
    Some(json!({"lifetime_s": lifetime, "ticket_length": ticket.len()}))
}

/// The detail for any handshake message, by type. Unknown or malformed bodies give a short note.
pub fn detail(msg_type: u8, body: &[u8], tls13: bool) -> Value {
    let d = match msg_type {
        1 => client_hello(body),
        2 => server_hello(body).map(|(_, d)| d),
        4 => new_session_ticket(body, tls13),
        8 => encrypted_extensions(body),
        11 => certificate(body, tls13).map(|(d, _)| d),
        12 => server_key_exchange(body),
        14 => Some(json!({})),
        15 => certificate_verify(body),
        16 => client_key_exchange(body),
        20 => Some(json!({"verify_data_length": body.len()})),
        24 => Some(json!({"update_requested": body.first() == Some(&1)})),
        13 => Some(json!({"note": "the server asks for a client certificate"})),
        _ => Some(json!({})),
    };
    d.unwrap_or_else(|| json!({"note": "malformed: could not be decoded"}))
}

#[cfg(test)]
mod tests;
