//! What the server's certificate is checked against: Mozilla's roots compiled into wtcurl
//! (webpki-roots), or `--cacert` / `--capath` (or the CURL_CA_BUNDLE, SSL_CERT_FILE or SSL_CERT_DIR
//! they came from) instead, plus the run's extra roots (the offline demo's CA). Each anchor keeps a
//! readable name and where it came from, named as the user gave it.

use super::cert;
use super::{CaSource, TlsOptions};
use crate::error::{Error, Label, Phase, Result};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, TrustAnchor};
use std::path::Path;

/// One trust anchor.
#[derive(Clone, Debug)]
pub struct Anchor {
    pub ta: TrustAnchor<'static>,
    /// Its subject, `CN=…, O=…`.
    pub name: String,
    /// Where it came from: `webpki-roots`, `--cacert FILE`, `CURL_CA_BUNDLE=FILE`,
    /// `SSL_CERT_FILE=FILE`, `--capath DIR/FILE`, `SSL_CERT_DIR=DIR: FILE`, `the demo CA`.
    pub origin: String,
}

/// The trust store of one run.
#[derive(Clone, Debug)]
pub struct Trust {
    pub anchors: Vec<Anchor>,
    /// For `tls_start.trust`.
    pub description: String,
}

impl Trust {
    pub fn store(&self) -> RootCertStore {
        RootCertStore {
            roots: self.anchors.iter().map(|a| a.ta.clone()).collect(),
        }
    }
}

fn certificates(n: usize) -> String {
    if n == 1 {
        "1 certificate".to_owned()
    } else {
        format!("{n} certificates")
    }
}

fn bad_file(msg: String, hint: &str) -> Error {
    Error::new(Phase::Tls, Label::CaFileBad, msg).hint(hint)
}

/// The anchors of one PEM file. `Err` is the reason the file cannot be used.
fn pem_anchors(path: &Path, origin: &str) -> std::result::Result<Vec<Anchor>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut rejected = Vec::new();
    for (i, item) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
        let der = match item {
            Ok(d) => d,
            Err(e) => {
                return Err(format!(
                    "{}: PEM block {} is malformed: {e}",
                    path.display(),
                    i + 1
                ));
            }
        };
        let mut one = RootCertStore::empty();
        match one.add(der.clone()) {
            Ok(()) => {
                if let Some(ta) = one.roots.pop() {
                    let name = cert::view(&der).map_or_else(
                        || cert::name_from_contents(ta.subject.as_ref()),
                        |v| v.subject,
                    );
                    out.push(Anchor {
                        ta,
                        name,
                        origin: origin.to_owned(),
                    });
                }
            }
            Err(e) => rejected.push(format!("certificate {}: {e}", i + 1)),
        }
    }
    if out.is_empty() {
        let why = if !rejected.is_empty() {
            format!(
                "none of its certificates can be a trust anchor ({})",
                rejected.join("; ")
            )
        } else if bytes.first() == Some(&0x30) {
            "it holds no PEM certificate (it looks like DER: convert it with `openssl x509 -inform der -in FILE -out FILE.pem`)".to_owned()
        } else {
            "it holds no `-----BEGIN CERTIFICATE-----` block".to_owned()
        };
        return Err(format!("{}: {why}", path.display()));
    }
    Ok(out)
}

/// How a CA file or directory is named: `--cacert FILE` or `CURL_CA_BUNDLE=FILE`.
fn source_label(flag: &str, source: CaSource, path: &Path) -> String {
    match source {
        CaSource::Flag => format!("{flag} {}", path.display()),
        CaSource::Env(var) => format!("{var}={}", path.display()),
    }
}

/// The hint for an unusable CA file or directory, naming where it came from.
fn source_hint(flag: &str, source: CaSource, what: &str) -> String {
    match source {
        CaSource::Flag => format!("{flag} needs {what}"),
        CaSource::Env(var) => format!(
            "{var} (read from the environment, as curl reads it) needs {what}; fix or unset it, or give {flag}"
        ),
    }
}

fn cacert(path: &Path, source: CaSource) -> Result<(Vec<Anchor>, String)> {
    let origin = source_label("--cacert", source, path);
    let anchors = pem_anchors(path, &origin).map_err(|why| {
        bad_file(
            format!("error setting certificate file: {why}"),
            &source_hint("--cacert", source, "a readable PEM file of CA certificates"),
        )
    })?;
    let d = format!("{origin} ({})", certificates(anchors.len()));
    Ok((anchors, d))
}

fn capath(dir: &Path, source: CaSource) -> Result<(Vec<Anchor>, String)> {
    let label = source_label("--capath", source, dir);
    let entries = std::fs::read_dir(dir).map_err(|e| {
        bad_file(
            format!(
                "error setting certificate path: cannot read {}: {e}",
                dir.display()
            ),
            &source_hint(
                "--capath",
                source,
                "a readable directory of PEM certificates",
            ),
        )
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut anchors: Vec<Anchor> = Vec::new();
    let mut files = 0;
    for p in &paths {
        let origin = match source {
            CaSource::Flag => format!("--capath {}", p.display()),
            CaSource::Env(_) => format!(
                "{label}: {}",
                p.file_name().unwrap_or_default().to_string_lossy()
            ),
        };
        // Files that are not PEM certificates are skipped, as OpenSSL's lookup skips them.
        if let Ok(found) = pem_anchors(p, &origin) {
            files += 1;
            for a in found {
                // c_rehash links (abcd1234.0 -> cert.pem) name the same certificate twice.
                if !anchors.iter().any(|b| b.ta == a.ta) {
                    anchors.push(a);
                }
            }
        }
    }
    if anchors.is_empty() {
        return Err(bad_file(
            format!(
                "error setting certificate path: no PEM certificate in {} ({} files looked at)",
                dir.display(),
                paths.len()
            ),
            &source_hint("--capath", source, "a directory of PEM CA certificates"),
        ));
    }
    let d = format!(
        "{label} ({} from {files} file{})",
        certificates(anchors.len()),
        if files == 1 { "" } else { "s" }
    );
    Ok((anchors, d))
}

fn webpki() -> (Vec<Anchor>, String) {
    let anchors: Vec<Anchor> = webpki_roots::TLS_SERVER_ROOTS
        .iter()
        .map(|ta| Anchor {
            ta: ta.clone(),
            name: cert::name_from_contents(ta.subject.as_ref()),
            origin: "webpki-roots".to_owned(),
        })
        .collect();
    let d = format!(
        "built-in Mozilla roots (webpki-roots: {}, compiled into wtcurl)",
        certificates(anchors.len())
    );
    (anchors, d)
}

/// Builds the trust store. With `-k`, an unusable CA file is not fatal (curl only warns then): the
/// chain is still checked, against webpki-roots, so the report can say what would have failed.
pub fn build(opts: &TlsOptions) -> Result<Trust> {
    let mut parts = Vec::new();
    let mut anchors = Vec::new();
    let mut custom = false;
    let mut problems = Vec::new();
    for r in [
        opts.cacert
            .as_deref()
            .map(|p| cacert(p, opts.cacert_source)),
        opts.capath
            .as_deref()
            .map(|p| capath(p, opts.capath_source)),
    ]
    .into_iter()
    .flatten()
    {
        custom = true;
        match r {
            Ok((a, d)) => {
                anchors.extend(a);
                parts.push(d);
            }
            Err(e) if opts.insecure => problems.push(e.message),
            Err(e) => return Err(e),
        }
    }
    if !custom || (anchors.is_empty() && opts.insecure) {
        let (a, d) = webpki();
        anchors.extend(a);
        parts.push(d);
    }
    if !opts.extra_roots.is_empty() {
        let label = opts
            .extra_roots_label
            .clone()
            .unwrap_or_else(|| "extra roots".to_owned());
        let mut added = 0;
        for der in &opts.extra_roots {
            let mut one = RootCertStore::empty();
            if one.add(CertificateDer::from(der.clone())).is_ok()
                && let Some(ta) = one.roots.pop()
            {
                let name = cert::view(der).map_or_else(
                    || cert::name_from_contents(ta.subject.as_ref()),
                    |v| v.subject,
                );
                anchors.push(Anchor {
                    ta,
                    name,
                    origin: label.clone(),
                });
                added += 1;
            }
        }
        parts.push(format!("{label} ({})", certificates(added)));
    }
    let mut description = parts.join(" + ");
    if opts.insecure {
        description = format!(
            "insecure (-k): the chain is checked against {description} and reported, but accepted whatever the result"
        );
        for p in problems {
            description.push_str(&format!("; ignored because of -k: {p}"));
        }
    }
    Ok(Trust {
        anchors,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> TlsOptions {
        TlsOptions::default()
    }

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("wtcurl-trust-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::create_dir_all(&d);
        d
    }

    fn ca_pem() -> (String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "Trust Test CA");
        let c = p.self_signed(&key).expect("cert");
        (c.pem(), c.der().to_vec())
    }

    #[test]
    fn default_is_webpki_roots_plus_extra() {
        let (_, der) = ca_pem();
        let mut o = opts();
        o.extra_roots = vec![der];
        o.extra_roots_label = Some("the demo CA".into());
        let t = build(&o).expect("trust");
        assert!(t.anchors.len() > 100);
        assert!(
            t.description
                .starts_with("built-in Mozilla roots (webpki-roots: "),
            "{}",
            t.description
        );
        assert!(t.description.ends_with(" + the demo CA (1 certificate)"));
        let last = t.anchors.last().expect("anchor");
        assert_eq!(last.name, "CN=Trust Test CA");
        assert_eq!(last.origin, "the demo CA");
        assert!(t.anchors[0].name.contains("CN="), "{}", t.anchors[0].name);
    }

    #[test]
    fn cacert_replaces_default_and_bad_files_exit_77() {
        let dir = tmp("cacert");
        let (pem, _) = ca_pem();
        let good = dir.join("ca.pem");
        std::fs::write(&good, &pem).expect("write");
        let mut o = opts();
        o.cacert = Some(good.clone());
        let t = build(&o).expect("trust");
        assert_eq!(t.anchors.len(), 1);
        assert_eq!(t.anchors[0].origin, format!("--cacert {}", good.display()));

        for (name, content) in [
            ("empty.pem", &b""[..]),
            ("der.crt", &[0x30, 0x82, 0x01][..]),
            (
                "broken.pem",
                &b"-----BEGIN CERTIFICATE-----\nnot base64!\n"[..],
            ),
        ] {
            let p = dir.join(name);
            std::fs::write(&p, content).expect("write");
            o.cacert = Some(p);
            let e = build(&o).expect_err(name);
            assert_eq!(e.label, Label::CaFileBad, "{name}: {e}");
            assert_eq!(e.exit_code(), 77);
        }
        o.cacert = Some(dir.join("missing.pem"));
        let e = build(&o).expect_err("missing");
        assert!(e.message.contains("cannot read"), "{}", e.message);
        // With -k the bad file is reported in the description instead.
        o.insecure = true;
        let t = build(&o).expect("insecure trust");
        assert!(t.description.starts_with("insecure (-k)"));
        assert!(t.description.contains("ignored because of -k"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ca_files_from_the_environment_are_named_by_their_variable() {
        let dir = tmp("env");
        let (pem, _) = ca_pem();
        let good = dir.join("ca.pem");
        std::fs::write(&good, &pem).expect("write");
        let mut o = opts();
        o.cacert = Some(good.clone());
        o.cacert_source = CaSource::Env("CURL_CA_BUNDLE");
        let t = build(&o).expect("trust");
        assert_eq!(
            t.description,
            format!("CURL_CA_BUNDLE={} (1 certificate)", good.display())
        );
        assert_eq!(
            t.anchors[0].origin,
            format!("CURL_CA_BUNDLE={}", good.display())
        );
        assert!(!t.description.contains("--cacert"));

        let mut o = opts();
        o.capath = Some(dir.clone());
        o.capath_source = CaSource::Env("SSL_CERT_DIR");
        let t = build(&o).expect("trust");
        assert_eq!(
            t.description,
            format!("SSL_CERT_DIR={} (1 certificate from 1 file)", dir.display())
        );
        assert_eq!(
            t.anchors[0].origin,
            format!("SSL_CERT_DIR={}: ca.pem", dir.display())
        );

        let mut o = opts();
        o.cacert = Some(dir.join("missing.pem"));
        o.cacert_source = CaSource::Env("SSL_CERT_FILE");
        let e = build(&o).expect_err("missing");
        assert_eq!(e.exit_code(), 77);
        let hint = e.hint.expect("hint");
        assert!(
            hint.starts_with("SSL_CERT_FILE (read from the environment"),
            "{hint}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn capath_reads_every_pem_file_once() {
        let dir = tmp("capath");
        let (pem, _) = ca_pem();
        std::fs::write(dir.join("ca.pem"), &pem).expect("write");
        std::fs::write(dir.join("abcd1234.0"), &pem).expect("write");
        std::fs::write(dir.join("README"), "not a cert").expect("write");
        let mut o = opts();
        o.capath = Some(dir.clone());
        let t = build(&o).expect("trust");
        assert_eq!(t.anchors.len(), 1);
        assert!(t.description.contains("(1 certificate from 2 files)"));
        let empty = tmp("capath-empty");
        o.capath = Some(empty.clone());
        assert_eq!(build(&o).expect_err("empty").label, Label::CaFileBad);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&empty);
    }
}
