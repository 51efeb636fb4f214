//! Percent-encoding, shared by the server (redirects, download names) and
//! the browser (links and queries the pages build).

/// Encodes every byte except RFC 3986's unreserved characters and `also_keep`
/// (e.g. `b"/"` for a path, `b","` for a comma list in a query value).
pub fn percent_encode(value: &str, also_keep: &[u8]) -> String {
    let mut encoded = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || also_keep.contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn keeps_unreserved_and_what_is_asked() {
        assert_eq!(percent_encode("a b/c,d&é", b"/"), "a%20b/c%2Cd%26%C3%A9");
        assert_eq!(percent_encode("open,closed", b","), "open,closed");
    }
}
