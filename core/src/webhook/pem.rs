//! Reading key and signature text: PEM blocks, lenient base64, hex.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use crate::error::{Error, ErrorKind};

const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decode standard or url-safe base64, padded or not; ASCII whitespace inside is ignored.
pub(super) fn decode_base64_lenient(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    STANDARD_ANY_PAD
        .decode(compact.as_bytes())
        .or_else(|_| URL_SAFE_ANY_PAD.decode(compact.as_bytes()))
        .ok()
}

pub(super) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let chunks = text.as_bytes().chunks_exact(2);
    if !chunks.remainder().is_empty() {
        return None;
    }
    chunks
        .map(|pair| match pair {
            [hi, lo] => Some((nibble(*hi)? << 4) | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

/// One `-----BEGIN <label>----- ... -----END <label>-----` block of a PEM text.
pub(super) struct PemBlock<'a> {
    pub(super) label: &'a str,
    /// `None` when the body is not valid base64.
    pub(super) der: Option<Vec<u8>>,
}

/// All PEM blocks of `text`, in order. Text outside blocks (comments) is ignored.
pub(super) fn pem_blocks(text: &str) -> Vec<PemBlock<'_>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after_begin = rest.get(start + "-----BEGIN ".len()..).unwrap_or("");
        let Some(label_end) = after_begin.find("-----") else { break };
        let label = after_begin.get(..label_end).unwrap_or("");
        let body_start = after_begin.get(label_end + 5..).unwrap_or("");
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = body_start.find(&end_marker) else { break };
        let body = body_start.get(..body_end).unwrap_or("");
        // Headers such as `Proc-Type:` (encrypted keys) are not supported: the body then
        // is not plain base64 and decoding fails.
        blocks.push(PemBlock { label: label.trim(), der: decode_base64_lenient(body) });
        rest = body_start.get(body_end + end_marker.len()..).unwrap_or("");
    }
    blocks
}

pub(super) fn invalid_key(message: &str) -> Error {
    Error::new(ErrorKind::InvalidKey, message)
}

/// The header value's bytes, or `None` for a missing, empty, `N/A` or non-base64 value.
pub(super) fn signature_bytes(signature: Option<&str>) -> Option<Vec<u8>> {
    let s = signature?.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("N/A") {
        return None;
    }
    decode_base64_lenient(s)
}

pub(super) fn header_present(value: Option<&str>) -> Option<&str> {
    let v = value?.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("N/A") {
        None
    } else {
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decoding() {
        assert_eq!(decode_hex("00ffA0"), Some(vec![0, 255, 160]));
        assert_eq!(decode_hex("0g"), None);
        assert_eq!(decode_hex("abc"), None);
    }
}
