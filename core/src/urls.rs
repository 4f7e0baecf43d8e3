//! The small part of URL parsing hoopauth needs: absolute `http`/`https` URLs with a host,
//! read strictly. Anything unusual (credentials, backslashes, control characters, non-ASCII
//! or percent-encoded hosts, IPv4 in other than dotted-quad form) is refused rather than
//! interpreted, so hoopauth never disagrees with the host's HTTP client about where a
//! request goes. (A full WHATWG parser with IDNA tables would triple the browser package.)

use std::net::{Ipv4Addr, Ipv6Addr};

/// Why a string is not an accepted absolute URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UrlError {
    NotAbsolute,
    Scheme,
    Credentials,
    Host,
    Port,
    Characters,
}

/// An absolute `http`/`https` URL, split and normalised (lower-case scheme and host, no
/// default port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AbsoluteUrl {
    pub scheme: &'static str,
    /// Lower-case; IPv6 in brackets.
    pub host: String,
    /// `None` for the scheme's default port.
    pub port: Option<u16>,
    /// Path (may be empty) without query or fragment.
    pub path: String,
    /// Query without `?`, if any.
    pub query: Option<String>,
    pub has_fragment: bool,
}

/// Scheme, host and port: where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub scheme: &'static str,
    pub host: String,
    pub port: Option<u16>,
}

impl AbsoluteUrl {
    pub fn parse(raw: &str) -> Result<AbsoluteUrl, UrlError> {
        if raw.bytes().any(|b| b <= 0x20 || b == 0x7f || b == b'\\') {
            return Err(UrlError::Characters);
        }
        let (scheme, rest) = raw.split_once(':').ok_or(UrlError::NotAbsolute)?;
        let mut chars = scheme.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return Err(UrlError::NotAbsolute);
        }
        let scheme = if scheme.eq_ignore_ascii_case("https") {
            "https"
        } else if scheme.eq_ignore_ascii_case("http") {
            "http"
        } else {
            return Err(UrlError::Scheme);
        };
        let rest = rest.strip_prefix("//").ok_or(UrlError::NotAbsolute)?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(UrlError::Credentials);
        }
        let (host, port) = split_host_port(authority)?;
        let port = match (scheme, port) {
            ("https", Some(443)) | ("http", Some(80)) => None,
            (_, p) => p,
        };
        let (before_fragment, has_fragment) = match tail.split_once('#') {
            Some((a, _)) => (a, true),
            None => (tail, false),
        };
        let (path, query) = match before_fragment.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (before_fragment, None),
        };
        Ok(AbsoluteUrl { scheme, host, port, path: path.to_owned(), query, has_fragment })
    }

    pub fn origin(&self) -> Origin {
        Origin { scheme: self.scheme, host: self.host.clone(), port: self.port }
    }

    /// `localhost`, `127.x.x.x` or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        if self.host == "localhost" {
            return true;
        }
        if let Ok(ip) = self.host.parse::<Ipv4Addr>() {
            return ip.is_loopback();
        }
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
            .is_some_and(|ip| ip.is_loopback())
    }

    /// `scheme://host[:port]`.
    pub fn origin_string(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{p}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), UrlError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inside, after) = v6.split_once(']').ok_or(UrlError::Host)?;
        let ip: Ipv6Addr = inside.parse().map_err(|_| UrlError::Host)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UrlError::Host)?),
        };
        (format!("[{ip}]"), port)
    } else {
        let (h, p) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        (check_host(h)?, p)
    };
    let port = match port {
        None | Some("") => None,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| UrlError::Port)?)
        }
        Some(_) => return Err(UrlError::Port),
    };
    Ok((host, port))
}

/// A registered name or a dotted-quad IPv4 address, lower-cased.
fn check_host(h: &str) -> Result<String, UrlError> {
    if h.is_empty() || h.len() > 253 {
        return Err(UrlError::Host);
    }
    if !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_') {
        return Err(UrlError::Host);
    }
    let host = h.to_ascii_lowercase();
    // WHATWG reads a host whose last label is a number as IPv4 (`127.1`, `0x7f.1`): accept
    // only the canonical dotted quad, so both readings agree.
    let last = host.strip_suffix('.').unwrap_or(&host).rsplit('.').next().unwrap_or("");
    let numeric = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || (last.starts_with("0x") && last.bytes().skip(2).all(|b| b.is_ascii_hexdigit())));
    if numeric {
        let ip: Ipv4Addr = host.parse().map_err(|_| UrlError::Host)?;
        if ip.to_string() != host {
            return Err(UrlError::Host);
        }
    }
    if host.split('.').any(|label| label.len() > 63) || host.starts_with('.') || host.contains("..") {
        return Err(UrlError::Host);
    }
    Ok(host)
}

/// Percent-encode what a URL's path and query may not carry raw (non-ASCII bytes and
/// `"<>`{}` `); `%` and delimiters stay as they are.
pub(crate) fn encode_path_and_query(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !matches!(b, b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b' ')) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for b in s.bytes() {
        if b.is_ascii() && !matches!(b, b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b' ') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn part() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("https://".to_string()),
            Just("http://".to_string()),
            Just("HTTPS://".to_string()),
            Just("https:".to_string()),
            Just("https:/".to_string()),
            Just("ftp://".to_string()),
            Just("services.leadconnectorhq.com".to_string()),
            Just("Services.LeadConnectorHQ.com".to_string()),
            Just("localhost".to_string()),
            Just("127.0.0.1".to_string()),
            Just("127.1".to_string()),
            Just("0x7f.0.0.1".to_string()),
            Just("1.2.3.4.5".to_string()),
            Just("[::1]".to_string()),
            Just("[::ffff:127.0.0.1]".to_string()),
            Just("evil.example".to_string()),
            Just("@".to_string()),
            Just(":".to_string()),
            Just(":443".to_string()),
            Just(":80".to_string()),
            Just(":8787".to_string()),
            Just(":99999".to_string()),
            Just("/".to_string()),
            Just("//".to_string()),
            Just("?".to_string()),
            Just("#".to_string()),
            Just("%2e".to_string()),
            Just("%40".to_string()),
            Just(".".to_string()),
            Just("ü".to_string()),
            Just("a".to_string()),
            Just("-".to_string()),
            "[a-z0-9./:@?#%\\[\\]-]{0,6}".prop_map(|s| s),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5_000, .. ProptestConfig::default() })]

        /// Whatever this parser accepts, the WHATWG parser (`url` crate) reads the same
        /// scheme, host and port: hoopauth and the host's HTTP client agree where a request goes.
        #[test]
        fn agrees_with_whatwg_where_it_accepts(parts in proptest::collection::vec(part(), 1..8)) {
            let raw: String = parts.concat();
            if let Ok(ours) = AbsoluteUrl::parse(&raw) {
                let theirs = url::Url::parse(&raw);
                prop_assert!(theirs.is_ok(), "we accept {raw:?}, WHATWG does not");
                let theirs = theirs.unwrap();
                prop_assert_eq!(ours.scheme, theirs.scheme());
                match (ours.host.strip_prefix('[').and_then(|h| h.strip_suffix(']')), theirs.host()) {
                    // IPv6: the same address (serialisations differ for embedded IPv4).
                    (Some(v6), Some(url::Host::Ipv6(ip))) => prop_assert_eq!(v6.parse::<Ipv6Addr>().unwrap(), ip),
                    _ => prop_assert_eq!(Some(ours.host.as_str()), theirs.host_str(), "host of {:?}", raw),
                }
                prop_assert_eq!(ours.port, theirs.port(), "port of {:?}", raw);
                prop_assert!(theirs.username().is_empty() && theirs.password().is_none());
            }
        }
    }

    #[test]
    fn examples() {
        let u = AbsoluteUrl::parse("HTTPS://Services.LeadConnectorHQ.com:443/a/b?x=1#f").unwrap();
        assert_eq!(u.origin_string(), "https://services.leadconnectorhq.com");
        assert_eq!((u.path.as_str(), u.query.as_deref(), u.has_fragment), ("/a/b", Some("x=1"), true));
        assert!(AbsoluteUrl::parse("http://[::1]:8080/").unwrap().is_loopback());
        assert!(AbsoluteUrl::parse("http://127.0.0.1:8787").unwrap().is_loopback());
        assert!(!AbsoluteUrl::parse("http://127.0.0.1.evil.example").unwrap().is_loopback());
        for bad in ["https://a@b", "https:\\\\evil", "https:/x", "/relative", "https://127.1/", "https://0x7f.0.0.1/",
                    "https://münchen.de/", "https://a%2eb/", "https://h:99999/", "javascript:alert(1)", "https://"] {
            assert!(AbsoluteUrl::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(encode_path_and_query("/a b/ü\"x"), "/a%20b/%C3%BC%22x");
    }
}
