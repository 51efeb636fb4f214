//! What never reaches a model: the values of the instance's
//! `platform_context` (the model sees `{{key}}` placeholders instead, and
//! approved commands get the values back just before they run), and
//! secret-looking strings in anything else (keys, tokens, passwords, private
//! keys, credentials in URLs).

use serde_json::Value;

/// Shortest context value worth replacing (shorter ones would hit ordinary words).
const MIN_VALUE_CHARS: usize = 4;
/// A run of token characters this long with upper, lower case and digits looks like a key.
const MIN_OPAQUE_TOKEN_CHARS: usize = 40;
/// What a secret becomes.
pub const REDACTED: &str = "[redacted]";

/// Replaces an instance's context values with placeholders, and back.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// (placeholder key, value), longest value first so that a value
    /// containing another is replaced whole.
    values: Vec<(String, String)>,
}

impl Redactor {
    /// From a `platform_context` object: every string (and long number) at
    /// any depth, keyed by its dotted path (`aws_credentials.secret_key`).
    pub fn new(context: Option<&Value>) -> Redactor {
        let mut values = Vec::new();
        if let Some(context) = context {
            collect(context, String::new(), &mut values);
        }
        values.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        Redactor { values }
    }

    /// From the instance's context with what a caller sent on top: the
    /// instance's values are always concealed, whatever the caller sent.
    pub fn merged(instance: &Value, caller: Option<&Value>) -> Redactor {
        let mut context = caller.and_then(Value::as_object).cloned().unwrap_or_default();
        if let Some(own) = instance.as_object() {
            context.extend(own.clone());
        }
        Redactor::new(Some(&Value::Object(context)))
    }

    /// An output safe to keep where people read it: the values of keys that
    /// name secrets (filled into a command that ran) back as placeholders.
    pub fn conceal_secrets(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (key, value) in self.values.iter().filter(|(key, _)| key.split('.').any(is_secret_name)) {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), &format!("{{{{{key}}}}}"));
            }
        }
        text
    }

    /// The placeholders of `command` whose keys name secrets.
    pub fn secret_placeholders(&self, command: &str) -> Vec<&str> {
        self.values
            .iter()
            .map(|(key, _)| key.as_str())
            .filter(|key| key.split('.').any(is_secret_name) && command.contains(&format!("{{{{{key}}}}}")))
            .collect()
    }

    /// The context's keys, for the model to use as `{{key}}`.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.values.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys
    }

    /// Text safe to send to a model: context values as placeholders, then
    /// secret-looking strings removed.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (key, value) in &self.values {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), &format!("{{{{{key}}}}}"));
            }
        }
        redact_secrets(&text)
    }

    /// A command from the model with its placeholders filled, to run.
    /// Unknown placeholders are left as they are (the shell shows them).
    pub fn expand(&self, command: &str) -> String {
        self.expand_where(command, |_| true)
    }

    /// [`Redactor::expand`] for a command typed into a terminal that people
    /// watch: values whose key names a secret stay placeholders.
    pub fn expand_public(&self, command: &str) -> String {
        self.expand_where(command, |key| !key.split('.').any(is_secret_name))
    }

    fn expand_where(&self, command: &str, fill: impl Fn(&str) -> bool) -> String {
        let mut command = command.to_owned();
        for (key, value) in self.values.iter().filter(|(key, _)| fill(key)) {
            command = command.replace(&format!("{{{{{key}}}}}"), value);
        }
        command
    }
}

fn collect(value: &Value, path: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                collect(inner, path, out);
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                collect(inner, format!("{path}.{index}"), out);
            }
        }
        Value::String(text) if text.chars().count() >= MIN_VALUE_CHARS => out.push((path, text.clone())),
        Value::Number(number) if number.to_string().len() >= 6 => out.push((path, number.to_string())),
        _ => {}
    }
}

/// Removes secret-looking strings: private key blocks, credentials in URLs,
/// `password=…`-style assignments, bearer tokens, well-known key formats and
/// long opaque tokens.
pub fn redact_secrets(text: &str) -> String {
    let text = redact_private_keys(text);
    let mut out = String::with_capacity(text.len());
    // Whether the previous word named a secret (`Bearer`, `password:` …), so this one is its value.
    let mut value_follows = false;
    for piece in split_keeping_whitespace(&text) {
        if piece.trim().is_empty() {
            out.push_str(piece);
            continue;
        }
        // Placeholders stand for context values: never secrets themselves.
        if piece.starts_with("{{") {
            out.push_str(piece);
            value_follows = false;
            continue;
        }
        // `Authorization: Bearer <token>`: the scheme is not the secret.
        if value_follows && ["bearer", "basic"].contains(&piece.to_ascii_lowercase().as_str()) {
            out.push_str(piece);
            continue;
        }
        if value_follows && !piece.starts_with('-') {
            out.push_str(REDACTED);
            value_follows = false;
            continue;
        }
        let (word, names_secret) = redact_word(piece);
        out.push_str(&word);
        value_follows = names_secret;
    }
    out
}

/// Splits into runs of whitespace and runs of anything else, keeping both.
fn split_keeping_whitespace(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (index, ch) in text.char_indices() {
        let space = ch.is_whitespace();
        if in_space.is_some_and(|s| s != space) {
            pieces.push(&text[start..index]);
            start = index;
        }
        in_space = Some(space);
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Words of a key that make its value a secret.
const SECRET_WORDS: [&str; 9] =
    ["password", "passwd", "pwd", "secret", "token", "apikey", "credential", "credentials", "authorization"];

/// Whether `name` (`AWS_SECRET_ACCESS_KEY`, `db.password`, `api-key`) names
/// a secret: one of its words is a secret word, or it is an api/access/private key.
fn is_secret_name(name: &str) -> bool {
    let lower = name.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_ascii_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    if matches!(words.last(), Some(&"file" | &"path" | &"dir")) {
        return false;
    }
    words.iter().any(|w| SECRET_WORDS.contains(w))
        || words.windows(2).any(|pair| matches!(pair, ["api" | "access" | "private", "key"]))
}

/// One word: answers it with secrets removed, and whether the next word is
/// a secret's value (`Bearer <token>`, `password: <value>`).
fn redact_word(word: &str) -> (String, bool) {
    // `Bearer <token>`, `--password <value>`.
    let bare = word.trim_matches(|c: char| c == '-' || c == ':').to_ascii_lowercase();
    if ["bearer", "basic", "password", "passwd", "token", "secret", "apikey", "api-key", "api_key"]
        .contains(&bare.as_str())
    {
        return (word.to_owned(), true);
    }
    // `key=value` / `key: value` / `"key":"value"`.
    for separator in ['=', ':'] {
        if let Some((name, value)) = word.split_once(separator) {
            if is_secret_name(name) && !name.contains("//") {
                let value = value.trim_matches(|c| c == '"' || c == '\'' || c == ',');
                if value.is_empty() {
                    return (word.to_owned(), true);
                }
                if value.starts_with("{{") {
                    return (word.to_owned(), false);
                }
                return (format!("{name}{separator}{REDACTED}"), false);
            }
        }
    }
    if let Some(cleaned) = redact_url_credentials(word) {
        return (cleaned, false);
    }
    let token = word.trim_matches(|c: char| !is_token_char(c));
    if looks_like_key(token) {
        return (word.replacen(token, REDACTED, 1), false);
    }
    (word.to_owned(), false)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_+/=.".contains(c)
}

/// `scheme://user:password@host` → `scheme://user:[redacted]@host`.
fn redact_url_credentials(word: &str) -> Option<String> {
    let scheme_end = word.find("://")? + 3;
    let rest = &word[scheme_end..];
    let at = rest.find('@')?;
    let credentials = &rest[..at];
    if credentials.contains('/') {
        return None;
    }
    let (user, _) = credentials.split_once(':')?;
    Some(format!("{}{user}:{REDACTED}{}", &word[..scheme_end], &rest[at..]))
}

/// Well-known key formats, JWTs, and long opaque tokens.
fn looks_like_key(token: &str) -> bool {
    let prefixed = |prefix: &str, min: usize| token.starts_with(prefix) && token.len() >= min;
    if prefixed("AKIA", 20)
        || prefixed("ASIA", 20)
        || prefixed("ghp_", 30)
        || prefixed("gho_", 30)
        || prefixed("ghs_", 30)
        || prefixed("github_pat_", 30)
        || prefixed("glpat-", 20)
        || prefixed("xoxb-", 20)
        || prefixed("xoxp-", 20)
        || prefixed("sk-", 23)
        || prefixed("AIza", 35)
    {
        return true;
    }
    let jwt = token.starts_with("eyJ") && token.split('.').count() == 3 && token.len() >= 30;
    let opaque = token.len() >= MIN_OPAQUE_TOKEN_CHARS
        && token.chars().any(|c| c.is_ascii_uppercase())
        && token.chars().any(|c| c.is_ascii_lowercase())
        && token.chars().any(|c| c.is_ascii_digit())
        && !token.contains('/');
    jwt || opaque
}

/// PEM private key blocks, whole.
fn redact_private_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let header_end = rest[start..].find("-----\n").or_else(|| rest[start + 11..].find("-----").map(|i| i + 11));
        let is_private = rest[start..].lines().next().is_some_and(|line| line.contains("PRIVATE KEY"));
        let Some(end) = rest[start..].find("-----END ").filter(|_| is_private && header_end.is_some()) else {
            if is_private {
                // Cut off before its end (an output cap, `head`): the rest is key.
                out.push_str(&rest[..start]);
                out.push_str("[redacted private key]");
                return out;
            }
            out.push_str(&rest[..start + 11]);
            rest = &rest[start + 11..];
            continue;
        };
        let after_end = rest[start + end + 9..].find("-----").map_or(rest.len(), |i| start + end + 9 + i + 5);
        out.push_str(&rest[..start]);
        out.push_str("[redacted private key]");
        rest = &rest[after_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn redactor() -> Redactor {
        Redactor::new(Some(&json!({
            "k8s_namespace": "duploservices-andy",
            "duplo_token": "dp-7f3a9c1e",
            "aws_credentials": { "secret_key": "wJalrXUtnFEMI/K7MDENG", "region": "us-east-1" },
            "port": 8080,
            "account": 123456789012u64,
        })))
    }

    #[test]
    fn context_values_become_placeholders_and_come_back_for_running() {
        let r = redactor();
        let text = "pods in duploservices-andy; using dp-7f3a9c1e; key wJalrXUtnFEMI/K7MDENG in 123456789012";
        assert_eq!(
            r.redact(text),
            "pods in {{k8s_namespace}}; using {{duplo_token}}; key {{aws_credentials.secret_key}} in {{account}}"
        );
        assert_eq!(r.redact("DUPLO_TOKEN=dp-7f3a9c1e"), "DUPLO_TOKEN={{duplo_token}}");
        assert_eq!(
            r.expand("kubectl get pods -n {{k8s_namespace}} --region {{aws_credentials.region}}"),
            "kubectl get pods -n duploservices-andy --region us-east-1"
        );
        assert_eq!(r.expand("echo {{unknown}}"), "echo {{unknown}}");
        assert_eq!(
            r.expand_public("kubectl -n {{k8s_namespace}} --token {{duplo_token}}"),
            "kubectl -n duploservices-andy --token {{duplo_token}}"
        );
        assert!(r.keys().contains(&"aws_credentials.secret_key"));
        assert!(!r.keys().contains(&"port"), "short values are left alone");
        assert_eq!(
            r.conceal_secrets("ns duploservices-andy token dp-7f3a9c1e"),
            "ns duploservices-andy token {{duplo_token}}",
            "only secret-named values are concealed from people"
        );
        assert_eq!(r.secret_placeholders("curl -H 'X: {{duplo_token}}' -n {{k8s_namespace}}"), ["duplo_token"]);
        let merged =
            Redactor::merged(&json!({ "k8s_namespace": "real-ns" }), Some(&json!({ "k8s_namespace": "fake" })));
        assert_eq!(merged.redact("real-ns"), "{{k8s_namespace}}", "the instance's values win");
    }

    #[test]
    fn secret_looking_strings_are_removed() {
        let cases = [
            ("export AWS_SECRET_ACCESS_KEY=abc123def", "export AWS_SECRET_ACCESS_KEY=[redacted]"),
            ("password: hunter2", "password: [redacted]"),
            ("\"api_key\":\"s3cr3t\",", "\"api_key\":[redacted]"),
            ("mysql --password hunter2 -h db", "mysql --password [redacted] -h db"),
            ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig", "Authorization: Bearer [redacted]"),
            ("id AKIAIOSFODNN7EXAMPLE used", "id [redacted] used"),
            ("push with ghp_0123456789abcdefghijklmnopqrstuvwxyz", "push with [redacted]"),
            ("postgres://app:pa55word@db:5432/app", "postgres://app:[redacted]@db:5432/app"),
            ("key: sk-proj-abcdefghijklmnopqrstuvwx", "key: [redacted]"),
            ("opaque Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1O end", "opaque [redacted] end"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_secrets(input), expected, "{input}");
        }
    }

    #[test]
    fn ordinary_diagnostics_are_left_alone() {
        let output = "Filesystem Size Used Avail Use% Mounted on\n/dev/sda1 40G 39G 1G 98% /\n\
                      sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n\
                      payments-api-7d9c8b6f5-x2x9q 0/1 CrashLoopBackOff 12 (3m ago)\n\
                      token_file=/var/run/secrets/token  tokens: 4096";
        assert_eq!(redact_secrets(output), output);
    }

    #[test]
    fn private_keys_go_whole() {
        let text = "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nafter";
        assert_eq!(redact_secrets(text), "before\n[redacted private key]\nafter");
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert_eq!(redact_secrets(cert), cert, "certificates are public");
        let cut = "$ head id_rsa\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU/AAAA\nAAAB";
        assert_eq!(redact_secrets(cut), "$ head id_rsa\n[redacted private key]");
    }
}
