//! Webhook key parsing: `WebhookKey::parse` (PEM SPKI, base64 SPKI or raw, hex) and
//! `RsaWebhookKey::parse` (PEM SPKI / PKCS#1), on text built around real and random keys.
#![no_main]
use arbitrary::Arbitrary;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hoopauth::ErrorKind;
use hoopauth::PLATFORM_RSA_KEY;
use hoopauth::{RsaWebhookKey, WebhookKey};
use libfuzzer_sys::fuzz_target;

const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

#[derive(Arbitrary, Debug)]
enum Der {
    /// An Ed25519 SPKI around these key bytes.
    Ed([u8; 32]),
    /// The platform's RSA SPKI with bytes flipped and maybe cut.
    Rsa { flips: Vec<(u16, u8)>, cut: Option<u16> },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Label {
    PublicKey,
    RsaPublicKey,
    PrivateKey,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum KeyText {
    Raw(String),
    Hex { key: [u8; 32], upper: bool },
    Base64 { key: [u8; 32], spki: bool, alphabet: u8, spaces: bool },
    Pem { label: Label, der: Der, line_len: u8, before: String, after: String, crlf: bool, other_blocks: u8 },
}

fn rsa_der() -> Vec<u8> {
    let body: String = PLATFORM_RSA_KEY.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap_or_default()
}

fn b64(bytes: &[u8], alphabet: u8) -> String {
    match alphabet % 4 {
        0 => STANDARD.encode(bytes),
        1 => STANDARD_NO_PAD.encode(bytes),
        2 => URL_SAFE.encode(bytes),
        _ => URL_SAFE_NO_PAD.encode(bytes),
    }
}

fn pem(label: &str, der: &[u8], line_len: u8, crlf: bool) -> String {
    let nl = if crlf { "\r\n" } else { "\n" };
    let body = STANDARD.encode(der);
    let width = usize::from(line_len % 80).max(4);
    let lines: Vec<&str> = body.as_bytes().chunks(width).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
    format!("-----BEGIN {label}-----{nl}{}{nl}-----END {label}-----{nl}", lines.join(nl))
}

fn same(a: &hoopauth::Result<WebhookKey>, b: &hoopauth::Result<WebhookKey>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(x), Err(y)) => x.kind() == y.kind(),
        _ => false,
    }
}

fn check_rsa(text: &str) {
    match RsaWebhookKey::parse(text) {
        Ok(k) => assert!((2048..=4096).contains(&k.bits()), "{} bits", k.bits()),
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidKey),
    }
}

fuzz_target!(|input: KeyText| {
    // (text, what parsing it must give when the text is unambiguous)
    let (text, expect): (String, Option<hoopauth::Result<WebhookKey>>) = match input {
        KeyText::Raw(s) => (s, None),
        KeyText::Hex { key, upper } => {
            let hex: String = key.iter().map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") }).collect();
            (hex, Some(WebhookKey::from_bytes(&key)))
        }
        KeyText::Base64 { key, spki, alphabet, spaces } => {
            let bytes = if spki { [&SPKI_PREFIX[..], &key[..]].concat() } else { key.to_vec() };
            let mut text = b64(&bytes, alphabet);
            if spaces {
                text = format!("  {}\n {} ", &text[..text.len() / 2], &text[text.len() / 2..]);
            }
            (text, Some(WebhookKey::from_bytes(&key)))
        }
        KeyText::Pem { label, der, line_len, before, after, crlf, other_blocks } => {
            let (label_text, is_public) = match &label {
                Label::PublicKey => ("PUBLIC KEY".to_owned(), true),
                Label::RsaPublicKey => ("RSA PUBLIC KEY".to_owned(), false),
                Label::PrivateKey => ("PRIVATE KEY".to_owned(), false),
                Label::Other(s) => (s.clone(), false),
            };
            let (bytes, ed_key) = match &der {
                Der::Ed(k) => ([&SPKI_PREFIX[..], &k[..]].concat(), Some(*k)),
                Der::Rsa { flips, cut } => {
                    let mut d = rsa_der();
                    let n = d.len();
                    for (i, x) in flips {
                        if let Some(b) = d.get_mut(usize::from(*i) % n.max(1)) {
                            *b ^= x;
                        }
                    }
                    if let Some(c) = cut {
                        d.truncate(usize::from(*c));
                    }
                    (d, None)
                }
                Der::Raw(b) => (b.clone(), None),
            };
            let mut text = String::new();
            text.push_str(&before);
            for i in 0..(other_blocks % 3) {
                text.push_str(&pem("CERTIFICATE", &[i; 40], 64, crlf));
            }
            text.push_str(&pem(&label_text, &bytes, line_len, crlf));
            text.push_str(&after);
            let clean = !before.contains("-----") && !after.contains("-----") && !label_text.contains("-----");
            let expect = match ed_key {
                Some(k) if is_public && clean => Some(WebhookKey::from_bytes(&k)),
                _ => None,
            };
            (text, expect)
        }
    };
    let got = WebhookKey::parse(&text);
    if let Err(e) = &got {
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
    }
    if let Some(expect) = expect {
        assert!(same(&got, &expect), "{text:?}: {got:?} vs {expect:?}");
    }
    if let Ok(k) = &got {
        assert_eq!(WebhookKey::from_bytes(&k.to_bytes()).ok(), Some(*k));
    }
    check_rsa(&text);
});
