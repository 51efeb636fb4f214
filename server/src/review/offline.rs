//! The offline reviewer: the default AI review, without a model.
//!
//! It reads a ticket's subject and description and answers what a careful
//! triager would: the category and severity the text supports, a one- or
//! two-sentence extractive summary, the quality gaps that would slow down
//! whoever picks the ticket up (no error text, no environment, no timeline…)
//! and one clarifying question per gap. It also provides the text side of the
//! duplicate search: [`terms`] normalises a text into a bag of canonical
//! terms (synonyms folded, pod hashes, ids and numbers dropped) and
//! [`similarity`] scores two bags by TF-IDF cosine.
//!
//! Everything here is deterministic, uses only `std`, and is cheap: the word
//! lists are compiled once, and one analysis is a few hash lookups per rule
//! (tens of microseconds for a typical ticket).
//!
//! How it decides, in short:
//! - **Category**: weighted keyword and phrase rules per category; a match in
//!   the subject counts twice. Infrastructure incidents (outage, crash loop,
//!   disk full, certificate expiry, data loss) lean to `technical` and never
//!   end up `billing`, `account`, `feature_request` or `other`. The person's
//!   pick is kept unless the text clearly points elsewhere.
//! - **Severity**: impact signals (outage, data loss, security incident,
//!   degradation, capacity, certificate expiry), scope ("all users", "2% of
//!   requests"), environment (production raises, staging/dev lowers), and
//!   urgency words ("sev1", "asap", "no rush").
//! - **Findings**: each check applies only where it makes sense (error text
//!   for failures, a timeline for incidents, a use case for feature requests).

use opsdesk_app::model::{Category, ClarifyingQuestion, Finding, FindingLevel, Severity};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// FNV-1a: the maps here hold short words, for which SipHash's DoS
/// resistance buys nothing and costs a third of the run time.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

/// What the offline reviewer concludes from a ticket's text alone.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub category: Category,
    pub severity: Severity,
    /// Extractive: sentences (or a trimmed sentence) taken from the text, at most 280 chars.
    pub summary: String,
    pub findings: Vec<Finding>,
    /// One question per gap a finding names; `id` = the finding's code.
    pub questions: Vec<ClarifyingQuestion>,
}

/// Longest summary, in characters (the ellipsis included).
const SUMMARY_MAX_CHARS: usize = 280;
/// Descriptions shorter than this many words get `too_short`.
const MIN_DESCRIPTION_WORDS: usize = 15;
/// Subjects with fewer content words than this get `vague_subject`.
const MIN_SUBJECT_CONTENT_WORDS: usize = 3;

/// Analyses subject + description. `category_hint` is what the person picked, if anything:
/// keep it unless the text clearly says otherwise (then suggest the better one).
pub fn analyse(subject: &str, description: &str, category_hint: Option<Category>) -> Analysis {
    let doc = Doc::new(subject, description);
    let signals = Signals::detect(&doc);
    let scores = category_scores(&doc, &signals);
    let category = choose_category(&scores, &signals, category_hint);
    let severity = severity(category, &signals);
    let summary = summary(&doc, category);
    let findings = findings(&doc, &signals, category);
    let questions = questions(&findings, &doc, &signals, category);
    Analysis { category, severity, summary, findings, questions }
}

/// Normalised terms for duplicate matching: lowercased words, punctuation dropped, stop words
/// dropped, light stemming (plurals, -ing, -ed, -ly ...), and infra synonyms folded to one
/// canonical term (e.g. outage/down/unavailable/unreachable -> one term; crashloop/crashloopbackoff/
/// "keeps restarting" -> one; oom/oomkilled/"out of memory" -> one; disk/volume/storage and full/"no space" ...;
/// db/database/postgres?; k8s/kubernetes; cert/certificate/tls/ssl; dns/resolve; latency/slow ...).
/// Numbers, hex ids, UUIDs and pod-hash suffixes (e.g. app-69fb74d9d4-j2l6x -> app) are normalised so
/// that two reports of the same incident match. Order does not matter to callers (a bag of terms).
///
/// Every term is plain lowercase alphanumerics (what a full-text index keeps). HTTP status codes
/// survive as `http5xx` plus `http502`; other numbers are dropped. Specific products fold to
/// themselves and their family (`postgres` -> `postgres` + `database`), so "the db" and
/// "Postgres" still meet.
pub fn terms(text: &str) -> Vec<String> {
    let tables = term_tables();
    let mut toks: Vec<Tok> = tokenize(text, 0);
    toks.retain(|t| t.kind != Kind::Id);
    let mut out: Vec<String> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let tok = &toks[i];
        if let Some(candidates) = tables.phrases.get(&tok.stem) {
            if let Some((len, outputs)) = candidates
                .iter()
                .find(|(stems, _)| stems.iter().enumerate().all(|(k, s)| toks.get(i + k).is_some_and(|t| &t.stem == s)))
                .map(|(stems, outputs)| (stems.len(), outputs))
            {
                out.extend(outputs.iter().map(|o| (*o).to_owned()));
                i += len;
                continue;
            }
        }
        match tok.kind {
            Kind::Number => {
                if let Some(code) = status_code(&toks, i, text) {
                    out.push(format!("http{}xx", code / 100));
                    out.push(format!("http{code}"));
                }
            }
            Kind::Word => {
                if let Some(outputs) = tables.single.get(&tok.raw).or_else(|| tables.single.get(&tok.stem)) {
                    out.extend(outputs.iter().map(|o| (*o).to_owned()));
                } else if !tables.stop.contains(&tok.raw)
                    && !tables.stop.contains(&tok.stem)
                    && tok.raw.chars().count() >= 2
                {
                    // Parts are alphanumeric by construction (see `push_compound`).
                    out.push(std::mem::take(&mut toks[i].stem));
                }
            }
            Kind::Id => {}
        }
        i += 1;
    }
    out
}

/// Similarity in [0, 1] of two term bags, cosine over TF-IDF weights; `idf(term)` gives a weight
/// (callers pass one computed from the org's tickets; a term unknown to the corpus gets a high idf).
/// Identical bags score 1.0 (when non-empty); disjoint bags 0.0; reordered text scores the same as
/// the original.
///
/// Term frequency is sublinear (`1 + ln tf`), so a word repeated in a long description does not
/// drown the rest. Negative or non-finite weights count as 0.
pub fn similarity(a: &[String], b: &[String], idf: &dyn Fn(&str) -> f64) -> f64 {
    fn weights<'a>(bag: &'a [String], idf: &dyn Fn(&str) -> f64) -> BTreeMap<&'a str, f64> {
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for term in bag {
            *counts.entry(term.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(term, tf)| {
                let w = idf(term);
                let w = if w.is_finite() && w > 0.0 { w.min(1e6) } else { 0.0 };
                (term, (1.0 + f64::from(tf).ln()) * w)
            })
            .collect()
    }
    let wa = weights(a, idf);
    let wb = weights(b, idf);
    let norm_a: f64 = wa.values().map(|w| w * w).sum();
    let norm_b: f64 = wb.values().map(|w| w * w).sum();
    if norm_a <= 0.0 || norm_b <= 0.0 {
        return 0.0;
    }
    let dot: f64 = wa.iter().filter_map(|(term, w)| wb.get(term).map(|v| w * v)).sum();
    let denominator = (norm_a * norm_b).sqrt();
    if dot >= denominator {
        1.0
    } else {
        (dot / denominator).clamp(0.0, 1.0)
    }
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A word (possibly with digits, like `k8s`).
    Word,
    /// Digits, possibly with a unit (`512mi`, `30s`, `502s`).
    Number,
    /// A hash, UUID, pod suffix or other opaque id.
    Id,
}

/// One word-like part of the text. Compounds (`payments-api-69fb74d9d4-j2l6x`,
/// `pg_dump`) are split into parts; pod hashes in them become [`Kind::Id`].
#[derive(Clone, Debug)]
struct Tok {
    /// Lowercased, apostrophes removed; `db01` -> `db`.
    raw: String,
    /// [`stem`] of `raw` (for words; numbers and ids keep `raw`).
    stem: String,
    kind: Kind,
    /// Byte range of the whole compound in the source text.
    start: usize,
    end: usize,
    /// Whether the compound has more than one part (`payments-api`).
    in_compound: bool,
    /// Which text the token is from (0 subject, 1 description) and, in the
    /// description, which sentence (`usize::MAX` outside any).
    field: u8,
    sentence: usize,
}

/// The Kubernetes random-suffix alphabet (no vowels, no 0/1/3).
const POD_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn in_pod_alphabet(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| POD_ALPHABET.contains(&b))
}

/// `j2l6x` in `app-69fb74d9d4-j2l6x`.
fn is_pod_suffix(s: &str) -> bool {
    s.len() == 5 && in_pod_alphabet(s) && s != "https"
}

/// `69fb74d9d4` in `app-69fb74d9d4-j2l6x` (the pod template hash).
fn is_template_hash(s: &str) -> bool {
    (6..=10).contains(&s.len()) && in_pod_alphabet(s) && s.bytes().any(|b| b.is_ascii_digit())
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Words with digits that are words, not ids.
#[rustfmt::skip]
const ALNUM_WORDS: &[&str] = &[
    "k8s", "k3s", "s3", "ec2", "ipv4", "ipv6", "http2", "http3", "x509", "arm64", "amd64", "x86", "log4j", "oauth2",
    "utf8", "2fa", "p50", "p90", "p95", "p99", "p999", "p0", "p1", "p2", "p3", "p4", "sev0", "sev1", "sev2", "sev3",
    "sev4", "4xx", "5xx", "3xx", "l4", "l7", "gp2", "gp3", "e2e", "q1", "q2", "q3", "q4", "b2b", "base64", "1password",
    "24x7",
];

/// Splits `text` into tokens. Offsets are byte offsets into `text`.
fn tokenize(text: &str, field: u8) -> Vec<Tok> {
    let mut out = Vec::new();
    let is_part = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '\'' | '’');
    let mut iter = text.char_indices().peekable();
    while let Some((start, c)) = iter.next() {
        if !is_part(c) {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, c)) = iter.peek() {
            if !is_part(c) {
                break;
            }
            end = i + c.len_utf8();
            iter.next();
        }
        push_compound(&text[start..end], start, end, field, &mut out);
    }
    out
}

fn push_compound(compound: &str, start: usize, end: usize, field: u8, out: &mut Vec<Tok>) {
    let make = |raw: String, kind: Kind, in_compound: bool| {
        let stem = if kind == Kind::Word { stem(&raw) } else { raw.clone() };
        Tok { raw, stem, kind, start, end, in_compound, field, sentence: usize::MAX }
    };
    // Most words: ASCII letters and digits only.
    if compound.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let (raw, kind) = classify(&compound.to_ascii_lowercase());
        out.push(make(raw, kind, false));
        return;
    }
    let lower: String = if compound.is_ascii() {
        compound.bytes().filter(|b| *b != b'\'').map(|b| char::from(b.to_ascii_lowercase())).collect()
    } else {
        compound
            .chars()
            .filter(|c| !matches!(c, '\'' | '’'))
            .flat_map(char::to_lowercase)
            .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
            .collect()
    };
    let lower = lower.trim_matches(|c| c == '-' || c == '_');
    if lower.is_empty() {
        return;
    }
    if is_uuid(lower) {
        out.push(make(lower.to_owned(), Kind::Id, false));
        return;
    }
    let parts: Vec<&str> = lower.split(['-', '_']).filter(|p| !p.is_empty()).collect();
    let mut ids = vec![false; parts.len()];
    let mut n = parts.len();
    if n >= 2 && is_pod_suffix(parts[n - 1]) {
        ids[n - 1] = true;
        n -= 1;
    }
    if n >= 2 && is_template_hash(parts[n - 1]) {
        ids[n - 1] = true;
    }
    let in_compound = parts.len() > 1;
    for (part, is_id) in parts.iter().zip(ids) {
        let (raw, kind) = if is_id { ((*part).to_owned(), Kind::Id) } else { classify(part) };
        out.push(make(raw, kind, in_compound));
    }
}

/// Words, numbers (`502`, `512mi`) and opaque ids (`3f2a9c1`, `a1b2c3`).
fn classify(part: &str) -> (String, Kind) {
    if !part.bytes().any(|b| b.is_ascii_digit()) {
        return (part.to_owned(), Kind::Word);
    }
    let has_alpha = part.chars().any(char::is_alphabetic);
    if !has_alpha {
        // Only ASCII digits make a number (`²²²` or `٣` do not).
        let kind = if part.bytes().all(|b| b.is_ascii_digit()) { Kind::Number } else { Kind::Id };
        return (part.to_owned(), kind);
    }
    if ALNUM_WORDS.contains(&part) {
        return (part.to_owned(), Kind::Word);
    }
    let letters = part.bytes().take_while(u8::is_ascii_lowercase).count();
    let digits = part.len() - letters;
    if letters >= 2 && (1..=3).contains(&digits) && part[letters..].bytes().all(|b| b.is_ascii_digit()) {
        // `db01`, `node3`, `redis7`: the name without its ordinal.
        return (part[..letters].to_owned(), Kind::Word);
    }
    let lead = part.bytes().take_while(u8::is_ascii_digit).count();
    let tail = &part[lead..];
    if lead > 0 && (1..=4).contains(&tail.len()) && tail.bytes().all(|b| b.is_ascii_lowercase()) {
        return (part.to_owned(), Kind::Number);
    }
    (part.to_owned(), Kind::Id)
}

/// The leading number of a number token (`502s` -> 502).
fn number_value(raw: &str) -> Option<u32> {
    let digits: String = raw.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.parse().ok()
}

/// Units after which a 4xx/5xx number is a quantity, not an HTTP status.
#[rustfmt::skip]
const UNITS: &[&str] = &[
    "ms", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "hour", "hours", "day", "days",
    "mb", "gb", "kb", "tb", "mi", "gi", "ki", "ti", "m", "k", "users", "user", "customers", "customer", "rows", "items",
    "nodes", "pods", "messages", "dollars", "usd", "eur", "euros", "seats", "people", "instances", "replicas", "x",
    "records", "files", "lines", "requests", "calls", "times", "km", "miles", "words",
];

/// The HTTP status a number token stands for, if it is one: 400–599 that is
/// not a quantity (`500 users`), money (`$500`), a percentage or part of a
/// time, version or address.
fn status_code(toks: &[Tok], i: usize, text: &str) -> Option<u32> {
    let tok = &toks[i];
    if tok.kind != Kind::Number || tok.in_compound {
        return None;
    }
    let value = number_value(&tok.raw)?;
    let suffix = tok.raw.get(3..).unwrap_or("");
    if !(400..=599).contains(&value) || tok.raw.len() < 3 || !(suffix.is_empty() || suffix == "s") {
        return None;
    }
    let before = text[..tok.start].chars().next_back();
    let mut after = text[tok.end..].chars();
    let next = after.next();
    let next2 = after.next();
    if matches!(before, Some('$' | '€' | '£' | '.' | ':' | '/' | '#' | '+')) {
        return None;
    }
    if matches!(next, Some('%' | '$' | '€'))
        || (matches!(next, Some('.' | ':' | ',')) && next2.is_some_and(|c| c.is_ascii_digit()))
    {
        return None;
    }
    if let Some(following) = toks.get(i + 1) {
        let adjacent = text.get(tok.end..following.start).is_some_and(|gap| gap.trim().is_empty());
        if adjacent && UNITS.contains(&following.raw.as_str()) {
            return None;
        }
    }
    Some(value)
}

fn has_vowel(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y'))
}

/// `stopp` -> `stop`, `runn` -> `run`; `kill`, `pass`, `buzz` stay.
fn undouble(mut s: String) -> String {
    let b = s.as_bytes();
    if b.len() >= 3 && b[b.len() - 1] == b[b.len() - 2] && !matches!(b[b.len() - 1], b'l' | b's' | b'z' | b'e' | b'o') {
        s.pop();
    }
    s
}

/// Light stemming: plurals, -ing, -ed, -ly, a final -e. Not Porter: just
/// enough that `restarts`, `restarting` and `restarted` meet, and `cache`
/// meets `caching`.
fn stem(word: &str) -> String {
    if word.len() <= 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word.to_owned();
    }
    let mut s = word.to_owned();
    if s.len() >= 6 && s.ends_with("ly") && !(s.ends_with("ply") || s.ends_with("bly") || s.ends_with("ily")) {
        s.truncate(s.len() - 2);
    }
    if s.len() >= 5 && (s.ends_with("ies") || s.ends_with("ied")) {
        s.truncate(s.len() - 3);
        s.push('y');
        return s;
    }
    if let Some(base) = s.strip_suffix("ing") {
        if base.len() >= 3 && has_vowel(base) {
            return undouble(base.to_owned());
        }
        return s;
    }
    if let Some(base) = s.strip_suffix("ed") {
        if !s.ends_with("eed") && base.len() >= 3 && has_vowel(base) {
            return undouble(base.to_owned());
        }
        return s;
    }
    if s.len() >= 4 && s.ends_with('s') && !(s.ends_with("ss") || s.ends_with("us") || s.ends_with("is")) {
        s.pop();
    }
    if s.len() >= 5 && s.ends_with('e') && !s.ends_with("ee") {
        s.pop();
    }
    s
}

// ---------------------------------------------------------------------------
// Term tables (duplicate matching)
// ---------------------------------------------------------------------------

/// First stem -> (stems of the phrase, canonical terms).
type Phrases = FastMap<String, Vec<(Vec<String>, Vec<&'static str>)>>;

struct TermTables {
    /// A word (as written, or its stem) -> its canonical terms.
    single: FastMap<String, Vec<&'static str>>,
    /// First stem -> (stems, canonical terms), longest first.
    phrases: Phrases,
    /// Words and stems that carry no meaning for matching.
    stop: FastSet<String>,
}

/// Canonical term(s) <- words that mean the same for duplicate matching.
#[rustfmt::skip]
const SYNONYMS: &[(&[&str], &[&str])] = &[
    (&["outage"], &[
        "outage", "outages", "down", "downtime", "unavailable", "unreachable", "unresponsive", "inaccessible",
        "offline", "dead",
    ]),
    (&["crashloop"], &["crashloop", "crashloops", "crashloopbackoff", "crashlooping", "bootloop", "crashlooped"]),
    (&["oom"], &["oom", "oomkilled", "oomkill", "oomkiller", "oomed"]),
    (&["storage"], &[
        "disk", "disks", "volume", "volumes", "storage", "pvc", "pvcs", "pv", "persistentvolumeclaim",
        "persistentvolume", "filesystem", "ebs", "partition",
    ]),
    (&["full"], &["full"]),
    (&["storage", "full"], &["enospc", "diskpressure"]),
    (&["database"], &["db", "dbs", "database", "databases"]),
    (&["postgres", "database"], &["postgres", "postgresql", "psql", "pg", "pgbouncer"]),
    (&["mysql", "database"], &["mysql", "mariadb"]),
    (&["rds", "database"], &["rds", "aurora"]),
    (&["mongodb", "database"], &["mongo", "mongodb"]),
    (&["kubernetes"], &["k8s", "kubernetes", "kube", "kubectl", "k3s"]),
    (&["eks", "kubernetes"], &["eks"]),
    (&["gke", "kubernetes"], &["gke"]),
    (&["aks", "kubernetes"], &["aks"]),
    (&["openshift", "kubernetes"], &["openshift"]),
    (&["certificate"], &["cert", "certs", "certificate", "certificates", "tls", "ssl", "x509"]),
    (&["dns"], &[
        "dns", "resolve", "resolving", "resolved", "resolution", "resolver", "nxdomain", "servfail", "coredns",
        "kubedns",
    ]),
    (&["latency"], &[
        "latency", "latencies", "slow", "slowness", "slower", "sluggish", "laggy", "p99", "p95", "p90", "p50", "delay",
        "delays", "delayed", "late",
    ]),
    (&["timeout"], &["timeout", "timeouts", "etimedout", "timedout"]),
    (&["error"], &["error", "errors", "errored", "err", "fail", "fails", "failed", "failing", "failure", "failures"]),
    (&["crash"], &["crash", "crashes", "crashed", "crashing", "panic", "panics", "panicked", "segfault"]),
    (&["login"], &["login", "logins", "logon", "signin", "signon"]),
    (&["sso"], &["sso"]),
    (&["okta", "sso"], &["okta"]),
    (&["saml", "sso"], &["saml"]),
    (&["oidc", "sso"], &["oidc"]),
    (&["permission"], &["permission", "permissions", "forbidden", "denied", "unauthorized", "unauthorised"]),
    (&["rbac", "permission"], &["rbac"]),
    (&["deploy"], &[
        "deploy", "deploys", "deployed", "deploying", "deployment", "deployments", "rollout", "rollouts", "redeploy",
        "redeployed", "release", "released", "releases",
    ]),
    (&["memory"], &["memory", "ram", "mem"]),
    (
        &["config"],
        &["config", "configs", "configuration", "configure", "configured", "configuring", "settings", "setting"],
    ),
    (
        &["upgrade"],
        &["upgrade", "upgraded", "upgrading", "upgrades", "update", "updated", "updating", "updates", "bump", "bumped"],
    ),
    (&["invoice"], &["invoice", "invoices", "invoiced", "bill", "bills", "billing", "billed", "receipt", "receipts"]),
    (&["charge"], &["charge", "charges", "charged", "overcharged", "overcharge"]),
    (&["payment"], &["payment", "payments", "pay", "paid", "paying"]),
    (&["host"], &["host", "hosts", "server", "servers", "machine", "machines", "vm", "vms"]),
    (&["ec2", "host"], &["ec2"]),
    (&["pod"], &["pod", "pods", "container", "containers"]),
    (
        &["restart"],
        &["restart", "restarts", "restarted", "restarting", "reboot", "rebooted", "rebooting", "bounce", "bounced"],
    ),
    (&["loadbalancer"], &["lb", "alb", "elb", "nlb", "loadbalancer", "loadbalancers"]),
    (&["expire"], &["expire", "expires", "expired", "expiring", "expiry", "expiration"]),
    (&["http5xx"], &["5xx"]),
    (&["http4xx"], &["4xx"]),
    (&["connect"], &["connect", "connects", "connected", "connecting", "connection", "connections", "connectivity"]),
    (&["network"], &["network", "networks", "networking"]),
    (&["backup"], &["backup", "backups", "snapshot", "snapshots"]),
    (&["alert"], &["alert", "alerts", "alerting", "alerted", "pagerduty"]),
    (&["alertmanager", "alert"], &["alertmanager"]),
    (&["user"], &["user", "users", "customer", "customers", "client", "clients"]),
    (&["prod"], &["prod", "production", "prd"]),
    (&["staging"], &["staging", "stage", "stg", "preprod"]),
    (&["dev"], &["dev", "development"]),
    (&["namespace"], &["namespace", "namespaces", "ns"]),
    (&["cpu"], &["cpu", "cpus", "processor", "throttling", "throttled"]),
    (&["evict"], &["evict", "evicted", "eviction", "evictions"]),
    (&["secret"], &["secret", "secrets", "credential", "credentials"]),
    (&["queue"], &["queue", "queues", "backlog"]),
    (&["lag"], &["lag", "lags", "lagging", "lagged"]),
    (&["repo"], &["repo", "repos", "repository", "repositories"]),
    (&["email"], &["email", "emails", "mail"]),
    (&["wrong"], &["wrong", "incorrect", "invalid"]),
    (&["duplicate"], &["duplicate", "duplicated", "duplicates", "twice", "double", "doubled"]),
    (&["broken"], &["broken", "broke", "breaks", "breaking"]),
    (&["missing"], &["missing", "disappeared", "disappearing", "disappear", "vanished", "lost"]),
    (&["leak"], &["leak", "leaks", "leaked", "leaking", "exposed"]),
    (&["notready"], &["notready"]),
    (&["pending"], &["pending", "unschedulable"]),
    (&["ingress"], &["ingress", "ingresses"]),
    (&["stacktrace"], &["stacktrace", "traceback"]),
    (&["health", "error"], &["unhealthy"]),
    (&["health", "check"], &["healthcheck", "healthchecks"]),
    (&["renew"], &["renew", "renews", "renewed", "renewing", "renewal", "renewals"]),
];

/// Phrases folded before single words (matched on stems).
#[rustfmt::skip]
const PHRASES: &[(&str, &[&str])] = &[
    ("out of memory", &["oom"]),
    ("exit code 137", &["oom"]),
    ("oom killed", &["oom"]),
    ("oom killer", &["oom"]),
    ("keep restarting", &["crashloop"]),
    ("kept restarting", &["crashloop"]),
    ("keep crashing", &["crashloop"]),
    ("keep dying", &["crashloop"]),
    ("restart loop", &["crashloop"]),
    ("restarting loop", &["crashloop"]),
    ("crash loop", &["crashloop"]),
    ("crash looping", &["crashloop"]),
    ("crash loop back off", &["crashloop"]),
    ("boot loop", &["crashloop"]),
    ("restart over and over", &["crashloop"]),
    ("restart again and again", &["crashloop"]),
    ("restart constantly", &["crashloop"]),
    ("constantly restart", &["crashloop"]),
    ("restart repeatedly", &["crashloop"]),
    ("repeatedly restart", &["crashloop"]),
    ("restart continuously", &["crashloop"]),
    ("no space left", &["storage", "full"]),
    ("no space", &["full"]),
    ("out of space", &["full"]),
    ("out of disk space", &["storage", "full"]),
    ("out of disk", &["storage", "full"]),
    ("disk space", &["storage"]),
    ("disk pressure", &["storage", "full"]),
    ("file system", &["storage"]),
    ("persistent volume", &["storage"]),
    ("persistent volume claim", &["storage"]),
    ("not reachable", &["outage"]),
    ("not responding", &["outage"]),
    ("not available", &["outage"]),
    ("cannot reach", &["outage"]),
    ("cant reach", &["outage"]),
    ("can not reach", &["outage"]),
    ("unable to reach", &["outage"]),
    ("service unavailable", &["http5xx", "outage"]),
    ("bad gateway", &["http5xx"]),
    ("gateway timeout", &["http5xx", "timeout"]),
    ("internal server error", &["http5xx", "error"]),
    ("scale down", &["scale"]),
    ("scaled down", &["scale"]),
    ("shut down", &["shutdown"]),
    ("slow down", &["latency"]),
    ("time out", &["timeout"]),
    ("timed out", &["timeout"]),
    ("times out", &["timeout"]),
    ("timing out", &["timeout"]),
    ("deadline exceeded", &["timeout"]),
    ("response time", &["latency"]),
    ("takes forever", &["latency"]),
    ("sign in", &["login"]),
    ("signing in", &["login"]),
    ("log in", &["login"]),
    ("logging in", &["login"]),
    ("log on", &["login"]),
    ("sign on", &["login"]),
    ("single sign on", &["sso"]),
    ("access denied", &["permission"]),
    ("permission denied", &["permission"]),
    ("load balancer", &["loadbalancer"]),
    ("name resolution", &["dns"]),
    ("could not resolve", &["dns"]),
    ("can not resolve", &["dns"]),
    ("cant resolve", &["dns"]),
    ("credit card", &["card"]),
    ("stack trace", &["stacktrace"]),
    ("not ready", &["notready"]),
    ("roll out", &["deploy"]),
    ("rolled out", &["deploy"]),
    ("set up", &["setup"]),
    ("on call", &["oncall"]),
    ("not working", &["broken"]),
    ("stopped working", &["broken"]),
    ("doesnt work", &["broken"]),
    ("does not work", &["broken"]),
    ("dont work", &["broken"]),
    ("do not work", &["broken"]),
    ("image pull back off", &["image", "pull"]),
    ("imagepullbackoff", &["image", "pull"]),
    ("errimagepull", &["image", "pull"]),
];

/// Words that say nothing about which problem a ticket is about.
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "actually", "after", "again", "ago", "all", "already", "also", "always", "am", "an", "and",
    "any", "anymore", "anyone", "anything", "apparently", "approx", "are", "arent", "around", "as", "at", "basically",
    "be", "because", "been", "before", "being", "below", "between", "bit", "both", "but", "by", "can", "cannot", "cant",
    "cheers", "could", "couldnt", "currently", "did", "didnt", "do", "does", "doesnt", "doing", "done", "dont",
    "during", "each", "eg", "either", "else", "etc", "even", "ever", "every", "everyone", "everything", "few", "for",
    "from", "further", "get", "gets", "getting", "got", "gotten", "had", "hadnt", "happen", "happened", "happening",
    "happens", "has", "hasnt", "have", "havent", "having", "he", "hello", "help", "her", "here", "hey", "hi", "him",
    "his", "how", "however", "i", "id", "ie", "if", "im", "in", "into", "is", "isnt", "issue", "issues", "it", "its",
    "ive", "just", "keep", "keeps", "kept", "kind", "know", "last", "let", "lets", "like", "look", "looks", "lot",
    "lots", "many", "may", "maybe", "me", "might", "more", "most", "much", "must", "my", "need", "needed", "needs",
    "new", "no", "nobody", "none", "nor", "not", "nothing", "notice", "noticed", "now", "of", "off", "ok", "okay", "on",
    "once", "one", "only", "onto", "or", "other", "others", "our", "ours", "out", "over", "own", "per", "perhaps",
    "please", "pls", "plz", "possible", "possibly", "pretty", "probably", "problem", "problems", "question",
    "questions", "quite", "rather", "re", "really", "regards", "right", "said", "same", "saw", "say", "says", "see",
    "seeing", "seem", "seemed", "seems", "seen", "several", "she", "should", "shouldnt", "since", "so", "some",
    "somehow", "someone", "something", "sometimes", "still", "such", "sure", "team", "than", "thank", "thanks", "that",
    "thats", "the", "their", "them", "then", "there", "these", "they", "thing", "things", "think", "this", "those",
    "though", "through", "thx", "to", "too", "tried", "try", "trying", "two", "under", "until", "up", "upon", "urgent",
    "urgently", "us", "use", "used", "using", "very", "via", "want", "wanted", "was", "wasnt", "way", "we", "were",
    "werent", "weve", "what", "whats", "when", "where", "whether", "which", "while", "who", "whole", "whom", "whose",
    "why", "will", "with", "within", "without", "wont", "would", "wouldnt", "yes", "yet", "you", "your", "yours",
    "asap", "hour", "hours", "minute", "minutes", "min", "mins", "second", "seconds", "sec", "secs", "day", "days",
    "week", "weeks", "month", "months", "year", "years", "today", "yesterday", "tomorrow", "tonight", "morning",
    "afternoon", "evening", "night", "am", "pm", "utc", "gmt", "cet", "cest", "est", "pst", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "january",
    "february", "march", "april", "june", "july", "august", "september", "october", "november", "december", "jan",
    "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "com", "io", "www", "http", "https", "net",
    "able", "unable", "anybody", "everybody", "somebody", "guys", "folks", "hopefully", "again", "whenever", "far",
    "onwards", "friend", "friends", "report", "reports", "reported", "reporting", "stuff", "started", "start", "began",
    "begin", "work", "works", "worked", "working", "make", "made", "going", "go", "goes", "went", "come", "came",
    "take", "took", "like", "around", "roughly", "approximately", "about", "show", "shows", "showed", "showing",
    "shown", "return", "returns", "returned", "returning", "fine", "sure",
];

fn term_tables() -> &'static TermTables {
    static TABLES: OnceLock<TermTables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut single: FastMap<String, Vec<&'static str>> = FastMap::default();
        for (outputs, words) in SYNONYMS {
            for word in *words {
                single.entry((*word).to_owned()).or_insert_with(|| outputs.to_vec());
                single.entry(stem(word)).or_insert_with(|| outputs.to_vec());
            }
        }
        let mut phrases = Phrases::default();
        for (phrase, outputs) in PHRASES {
            let stems: Vec<String> = tokenize(phrase, 0).into_iter().map(|t| t.stem).collect();
            if let Some(first) = stems.first() {
                phrases.entry(first.clone()).or_default().push((stems, outputs.to_vec()));
            }
        }
        for list in phrases.values_mut() {
            list.sort_by_key(|(stems, _)| std::cmp::Reverse(stems.len()));
        }
        let mut stop = FastSet::default();
        for word in STOP_WORDS {
            stop.insert((*word).to_owned());
            stop.insert(stem(word));
        }
        TermTables { single, phrases, stop }
    })
}

// ---------------------------------------------------------------------------
// Patterns and the analysed text
// ---------------------------------------------------------------------------

/// One word of a pattern: a stem, or (written `=word`) an exact word.
#[derive(Clone, Debug)]
struct PatWord {
    /// The index key: the word's stem.
    key: String,
    /// What must equal: the stem, or the exact lowercased word.
    text: String,
    exact: bool,
}

/// A word or phrase, compiled with the same tokenizer as the text.
#[derive(Clone, Debug)]
struct Pat(Vec<PatWord>);

fn compile(pattern: &str) -> Pat {
    let (exact, body) = match pattern.strip_prefix('=') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    Pat(tokenize(body, 0)
        .into_iter()
        .map(|t| PatWord { key: t.stem.clone(), text: if exact { t.raw } else { t.stem }, exact })
        .collect())
}

/// Compiles weighted rules; two spellings of one stem ("display", "displays")
/// count once, with the first weight.
fn compile_rules(rules: &[(&str, f64)]) -> Vec<(Pat, f64)> {
    let mut seen = HashSet::new();
    rules
        .iter()
        .map(|(p, w)| (compile(p), *w))
        .filter(|(pat, _)| seen.insert(pat.0.iter().map(|w| (w.text.clone(), w.exact)).collect::<Vec<_>>()))
        .collect()
}

fn stems(words: &[&str]) -> FastSet<String> {
    words.iter().map(|w| stem(w)).collect()
}

fn compile_all(patterns: &[&str]) -> Vec<Pat> {
    patterns.iter().map(|p| compile(p)).collect()
}

/// A sentence of the description, as a byte range.
#[derive(Clone, Copy, Debug)]
struct Sentence {
    start: usize,
    end: usize,
}

/// The ticket's text, tokenized and indexed: subject tokens first, then the
/// description's. Ids (hashes, pod suffixes) are left out.
struct Doc<'a> {
    subject: &'a str,
    description: &'a str,
    toks: Vec<Tok>,
    /// Tokens `[0, subject_len)` are the subject's.
    subject_len: usize,
    index: FastMap<String, Vec<usize>>,
    sentences: Vec<Sentence>,
    /// Percentages in the text (value, token position).
    percentages: Vec<(f64, usize)>,
}

impl<'a> Doc<'a> {
    fn new(subject: &'a str, description: &'a str) -> Self {
        let sentences = split_sentences(description);
        let mut toks: Vec<Tok> = tokenize(subject, 0).into_iter().filter(|t| t.kind != Kind::Id).collect();
        let subject_len = toks.len();
        let mut s = 0;
        for mut tok in tokenize(description, 1).into_iter().filter(|t| t.kind != Kind::Id) {
            while s < sentences.len() && sentences[s].end <= tok.start {
                s += 1;
            }
            if s < sentences.len() && sentences[s].start <= tok.start {
                tok.sentence = s;
            }
            toks.push(tok);
        }
        let mut index: FastMap<String, Vec<usize>> = FastMap::default();
        index.reserve(toks.len());
        for (i, tok) in toks.iter().enumerate() {
            match index.get_mut(tok.stem.as_str()) {
                Some(positions) => positions.push(i),
                None => {
                    index.insert(tok.stem.clone(), vec![i]);
                }
            }
        }
        let mut doc = Doc { subject, description, toks, subject_len, index, sentences, percentages: Vec::new() };
        doc.percentages = percentages(&doc);
        doc
    }

    fn text_of(&self, tok: &Tok) -> &'a str {
        if tok.field == 0 {
            self.subject
        } else {
            self.description
        }
    }

    fn matches_at(&self, pos: usize, pat: &Pat) -> bool {
        let field = self.toks[pos].field;
        pat.0.iter().enumerate().all(|(k, w)| {
            self.toks
                .get(pos + k)
                .is_some_and(|t| t.field == field && if w.exact { t.raw == w.text } else { t.stem == w.text })
        })
    }

    /// Start positions of `pat`.
    fn find(&self, pat: &Pat) -> Vec<usize> {
        let Some(first) = pat.0.first() else { return Vec::new() };
        self.index
            .get(&first.key)
            .map(|positions| positions.iter().copied().filter(|&p| self.matches_at(p, pat)).collect())
            .unwrap_or_default()
    }

    /// Whether a token just before `pos` negates what starts there
    /// ("not urgent", "no data loss", "nothing customer facing").
    fn negated(&self, pos: usize) -> bool {
        let field = self.toks[pos].field;
        (pos.saturating_sub(3)..pos)
            .any(|i| self.toks[i].field == field && NEGATORS.contains(&self.toks[i].raw.as_str()))
    }

    /// Whether what a match at `pos..pos+len` names is said to be fine
    /// ("prod backups are fine", "customers are not affected").
    fn said_fine(&self, pos: usize, len: usize) -> bool {
        let field = self.toks[pos].field;
        let after = pos + len;
        let window: Vec<&str> = (after..(after + 5).min(self.toks.len()))
            .take_while(|&i| self.toks[i].field == field)
            .map(|i| self.toks[i].raw.as_str())
            .collect();
        window.iter().enumerate().any(|(k, w)| {
            FINE_WORDS.contains(w)
                || (NEGATORS.contains(w) && window.get(k + 1).is_some_and(|n| matches!(*n, "affected" | "impacted")))
        })
    }

    fn any(&self, pats: &[Pat]) -> bool {
        pats.iter().any(|p| !self.find(p).is_empty())
    }

    /// Matches that are not negated before them.
    fn affirmed(&self, pats: &[Pat]) -> Vec<(usize, usize)> {
        pats.iter()
            .flat_map(|p| self.find(p).into_iter().filter(|&pos| !self.negated(pos)).map(move |pos| (pos, p.0.len())))
            .collect()
    }

    fn any_affirmed(&self, pats: &[Pat]) -> bool {
        !self.affirmed(pats).is_empty()
    }

    fn prev_stem(&self, pos: usize) -> Option<&str> {
        let field = self.toks[pos].field;
        pos.checked_sub(1).map(|i| &self.toks[i]).filter(|t| t.field == field).map(|t| t.stem.as_str())
    }

    fn next_stem(&self, pos: usize) -> Option<&str> {
        let field = self.toks[pos].field;
        self.toks.get(pos + 1).filter(|t| t.field == field).map(|t| t.stem.as_str())
    }

    fn has_stem(&self, stem: &str) -> bool {
        self.index.contains_key(stem)
    }

    /// Both texts, for raw scans.
    fn texts(&self) -> [&'a str; 2] {
        [self.subject, self.description]
    }
}

#[rustfmt::skip]
const NEGATORS: &[&str] = &[
    "not", "no", "nothing", "none", "without", "never", "isnt", "arent", "wasnt", "werent", "nor", "zero", "neither",
    "non", "pre",
];
#[rustfmt::skip]
const FINE_WORDS: &[&str] = &["fine", "ok", "okay", "unaffected", "healthy", "unimpacted", "normal"];

// ---------------------------------------------------------------------------
// Lexicon: what the signals and categories look for
// ---------------------------------------------------------------------------

struct Lex {
    prod: Vec<Pat>,
    nonprod: Vec<Pat>,
    scope_all: Vec<Pat>,
    partial: Vec<Pat>,
    outage: Vec<Pat>,
    degrade: Vec<Pat>,
    weak_failure: Vec<Pat>,
    data_loss: Vec<Pat>,
    deletion: Vec<Pat>,
    data_nouns: Vec<Pat>,
    security: Vec<Pat>,
    storage: Vec<Pat>,
    fullness: Vec<Pat>,
    full_now: Vec<Pat>,
    /// "full", unless "nearly" or "almost" comes first.
    full: Vec<Pat>,
    cert: Vec<Pat>,
    expiry: Vec<Pat>,
    soon: Vec<Pat>,
    urgent: Vec<Pat>,
    sev1: Vec<Pat>,
    not_urgent: Vec<Pat>,
    cosmetic: Vec<Pat>,
    question: Vec<Pat>,
    workaround: Vec<Pat>,
    /// "Reloading fixes it", "without quotes it works": a way around it.
    works_otherwise: Vec<Pat>,
    login: Vec<Pat>,
    login_failure: Vec<Pat>,
    /// Failure words that, next to a sign-in word, make a sign-in failure.
    login_fails: Vec<Pat>,
    access_problem: Vec<Pat>,
    revoke: Vec<Pat>,
    billing_issue: Vec<Pat>,
    suspend: Vec<Pat>,
    error_phrases: Vec<Pat>,
    env_words: Vec<Pat>,
    products: Vec<Pat>,
    timeline: Vec<Pat>,
    steps: Vec<Pat>,
    expected: Vec<Pat>,
    use_case: Vec<Pat>,
    kubernetes: Vec<Pat>,
    gateway_errors: Vec<Pat>,
    /// Context word lists, as stems.
    named_nouns: FastSet<String>,
    service_nouns: FastSet<String>,
    downtime_not_outage: FastSet<String>,
    down_not_outage: FastSet<String>,
    leak_not_security: FastSet<String>,
    restarting: Vec<Pat>,
    expired: Vec<Pat>,
    not_expired_yet: Vec<Pat>,
    no_action: Vec<Pat>,
    /// Per category (in `CATEGORIES` order): weighted patterns.
    rules: Vec<Vec<(Pat, f64)>>,
    infra_nouns: Vec<(Pat, f64)>,
}

/// Category order of the score arrays.
const CATEGORIES: [Category; 6] = [
    Category::Technical,
    Category::Bug,
    Category::FeatureRequest,
    Category::Account,
    Category::Billing,
    Category::Other,
];

fn cat_index(category: Category) -> usize {
    CATEGORIES.iter().position(|c| *c == category).unwrap_or(5)
}

#[rustfmt::skip]
const TECHNICAL_RULES: &[(&str, f64)] = &[
    ("how do i", 3.0), ("how do we", 3.0), ("how can i", 3.0), ("how can we", 3.0), ("how to", 3.0),
    ("how should", 2.5), ("how does", 2.0), ("what is the best way", 3.0), ("whats the best way", 3.0),
    ("recommended way", 3.0), ("best practice", 3.0), ("is it possible", 2.0), ("is there a way", 2.5),
    ("question", 1.5), ("configure", 1.5), ("configuration", 1.5), ("config", 1.5), ("set up", 1.5), ("setup", 1.5),
    ("install", 1.5), ("deploy", 1.0), ("deployment", 1.0), ("latency", 1.0), ("outage", 2.0), ("unreachable", 1.5),
    ("unavailable", 1.5), ("crashloop", 2.0), ("crashloopbackoff", 2.0), ("oomkilled", 2.0), ("oom", 2.0),
    ("timeout", 1.0), ("timed out", 1.0), ("failover", 1.5), ("upgrade", 0.75), ("migrate", 1.5), ("migration", 1.5),
    ("lag", 1.5), ("throttling", 1.0), ("evicted", 1.5), ("notready", 2.0), ("not ready", 1.5), ("access key", 2.0),
    ("lifecycle rule", 1.5), ("autoscaling", 1.5), ("autoscaler", 1.5), ("rotate", 1.0), ("state locking", 2.0),
    ("resolve", 1.0), ("lookups", 1.0), ("rescheduled", 1.0),
];

/// Infrastructure nouns: they say the ticket is about infrastructure, not what it
/// asks for, so together they count for at most [`MAX_INFRA_NOUN_SCORE`].
#[rustfmt::skip]
const INFRA_NOUNS: &[(&str, f64)] = &[
    ("kubernetes", 1.5), ("k8s", 1.5), ("helm", 1.5), ("terraform", 1.5), ("cluster", 1.5), ("node", 1.0), ("pod", 1.0),
    ("namespace", 1.0), ("ingress", 1.5), ("dns", 1.5), ("certificate", 1.5), ("cert", 1.5), ("tls", 1.0), ("ssl", 1.0),
    ("disk", 1.5), ("volume", 1.0), ("pvc", 1.5), ("storage", 1.0), ("memory", 1.0), ("cpu", 1.0), ("database", 1.0),
    ("db", 1.0), ("postgres", 1.0), ("pg", 1.0), ("mysql", 1.0), ("redis", 1.0), ("kafka", 1.0), ("replica", 1.0),
    ("backup", 1.0), ("network", 1.0), ("firewall", 1.5), ("load balancer", 1.5), ("vpn", 1.5), ("ssh", 1.5),
    ("docker", 1.0), ("container", 1.0), ("registry", 1.0), ("pipeline", 1.0), ("ci", 1.0), ("aws", 1.0), ("gcp", 1.0),
    ("azure", 1.0), ("s3", 1.0), ("ec2", 1.0), ("eks", 1.0), ("gke", 1.0), ("consumer", 1.0), ("topic", 0.5),
    ("probe", 1.5), ("grpc", 1.0), ("prometheus", 1.0), ("grafana", 0.5), ("monitoring", 1.0), ("cron", 1.0),
    ("cronjob", 1.0), ("job", 0.75), ("nightly", 0.5), ("server", 0.5), ("host", 1.0), ("vm", 1.0), ("proxy", 1.0),
    ("nginx", 1.0), ("api", 0.5), ("endpoint", 0.5), ("bucket", 1.0), ("iam", 1.5), ("vpc", 1.5), ("subnet", 1.5),
    ("hpa", 1.5), ("replicas", 1.0), ("manifest", 1.0), ("yaml", 0.5), ("secret", 1.0), ("vault", 1.0), ("kernel", 1.5),
    ("hostname", 1.0), ("ip", 1.0), ("port", 1.0), ("traffic", 1.0), ("requests", 0.5), ("backend", 0.5),
    ("connection", 0.75), ("connections", 0.75), ("queue", 1.0), ("image", 0.5), ("cloudtrail", 1.5),
    ("worker nodes", 1.0), ("node pool", 1.5),
];
const MAX_INFRA_NOUN_SCORE: f64 = 6.0;

#[rustfmt::skip]
const BUG_RULES: &[(&str, f64)] = &[
    ("bug", 3.0), ("buggy", 3.0), ("exception", 3.0), ("stack trace", 3.0), ("stacktrace", 3.0), ("traceback", 3.0),
    ("broken", 1.5), ("error", 1.0), ("fail", 0.75), ("failure", 0.75), ("crash", 2.0), ("panic", 2.5),
    ("segfault", 3.0), ("segmentation fault", 3.0), ("regression", 3.0), ("nil pointer", 3.0), ("null pointer", 3.0),
    ("nullpointerexception", 3.0), ("wrong", 1.5), ("incorrect", 1.5), ("unexpected", 1.5), ("not working", 1.5),
    ("doesnt work", 1.5), ("does not work", 1.5), ("stopped working", 1.5), ("should", 0.75), ("expected", 1.0),
    ("instead of", 1.0), ("used to work", 2.0), ("worked before", 2.0), ("this worked", 1.5), ("typo", 2.5),
    ("misspelled", 2.0), ("spelling", 1.5), ("cosmetic", 1.5), ("ui", 1.0), ("web ui", 1.0), ("button", 1.5),
    ("page", 0.5), ("dashboard", 0.75), ("panel", 0.75), ("displays", 1.0), ("displayed", 1.0), ("shows", 0.5),
    ("empty", 1.0), ("blank", 1.0), ("ignores", 1.5), ("no effect", 2.0), ("glitch", 2.0), ("behaves", 1.0),
    ("behaviour", 1.0), ("behavior", 1.0), ("reproduce", 1.5), ("reproduced", 1.5), ("steps to reproduce", 2.5),
    ("repro", 2.0), ("cli", 1.0), ("export", 0.5), ("release", 0.75), ("rendered", 1.0), ("header row", 1.0),
    ("results", 0.5), ("twice", 0.5), ("leak between", 1.0), ("other orgs", 1.5), ("another organisation", 1.5),
    ("another org", 1.5), ("other tenants", 1.5), ("opsdesk", 1.0),
];

#[rustfmt::skip]
const FEATURE_RULES: &[(&str, f64)] = &[
    ("feature request", 4.0), ("feature", 2.5), ("would like", 2.0), ("wed like", 2.0), ("id like", 1.5),
    ("would love", 2.0), ("please add", 2.5), ("could you add", 2.5), ("can you add", 2.5), ("could we have", 2.0),
    ("can we have", 2.0), ("add support", 3.0), ("support for", 1.5), ("to support", 1.0), ("would be nice", 3.0),
    ("would be great", 2.5), ("would be helpful", 2.0), ("would be useful", 2.0), ("nice to have", 2.5),
    ("would be handy", 2.5), ("would be cool", 2.5), ("itd be nice", 2.5), ("would be good", 2.0),
    ("would appreciate", 2.0), ("on the roadmap", 1.0), ("ability to", 2.0), ("allow us to", 2.0),
    ("allow users to", 2.0), ("option to", 1.5), ("an option", 1.5), ("theme option", 1.0), ("enhancement", 3.0),
    ("suggestion", 2.0), ("wish", 2.0), ("dark mode", 2.0), ("dark theme", 2.0), ("integration with", 1.5),
    ("integrate with", 1.5), ("any plans", 3.0), ("roadmap", 3.0), ("add a view", 2.0), ("new view", 1.5),
    ("a view", 1.0), ("view that", 1.0), ("export to", 1.0), ("export the", 1.0), ("would save", 1.5),
    ("it would help", 1.0), ("notifications", 1.0), ("could post", 1.5), ("breakdown", 1.0), ("breaks down", 1.0),
    ("templates", 0.5),
];

#[rustfmt::skip]
const ACCOUNT_RULES: &[(&str, f64)] = &[
    ("login", 2.0), ("log in", 2.0), ("sign in", 2.0), ("signin", 2.0), ("sign on", 1.5), ("logon", 2.0),
    ("password", 2.5), ("sso", 2.0), ("saml", 1.5), ("okta", 1.5), ("2fa", 2.5), ("mfa", 2.5), ("two factor", 2.5),
    ("invite", 3.0), ("invitation", 3.0), ("access", 1.0), ("need access", 2.0), ("grant access", 3.0),
    ("give access", 3.0), ("revoke", 2.0), ("permission", 2.0), ("role", 1.5), ("user", 0.5), ("account", 1.5),
    ("accounts", 1.0), ("locked out", 3.0), ("lock out", 3.0), ("deactivate", 2.5), ("offboard", 2.5), ("onboard", 2.0),
    ("remove his", 2.0), ("remove her", 2.0), ("remove user", 3.0), ("add user", 3.0), ("api token", 2.0),
    ("token", 0.5), ("org", 1.0), ("organisation", 1.5), ("organization", 1.5), ("team member", 1.5), ("profile", 1.5),
    ("email address", 1.0), ("username", 2.0), ("credentials", 1.5), ("unauthorized", 1.0), ("forbidden", 1.0),
    ("viewer", 1.5), ("operator role", 2.0), ("admin role", 2.0), ("admin", 1.0), ("member", 1.0), ("owner", 0.5),
    ("no longer see", 2.0), ("cant see", 1.0),
];

#[rustfmt::skip]
const BILLING_RULES: &[(&str, f64)] = &[
    ("invoice", 4.0), ("billing", 4.0), ("bill", 3.0), ("charge", 3.0), ("refund", 4.0), ("payment", 3.0),
    ("subscription", 3.5), ("pricing", 3.5), ("price", 3.0), ("plan", 1.0), ("annual plan", 2.0), ("team plan", 2.0),
    ("pro plan", 2.0), ("enterprise plan", 2.0), ("credit card", 2.5), ("card", 1.5), ("vat", 3.0), ("receipt", 3.0),
    ("tax", 2.0), ("quote", 1.5), ("seats", 2.0), ("renewal", 2.0), ("prorated", 3.0), ("proration", 3.0),
    ("purchase order", 3.0), ("finance", 1.0), ("accounting", 1.5), ("trial", 1.5), ("license", 1.5), ("licence", 1.5),
    ("overcharged", 4.0), ("cost", 0.5), ("usd", 2.0), ("eur", 2.0), ("dollars", 2.0), ("euros", 2.0), ("coupon", 2.0),
    ("billing cycle", 2.0), ("payment details", 2.0), ("payment method", 2.0),
];

#[rustfmt::skip]
const OTHER_RULES: &[(&str, f64)] = &[
    ("thanks", 2.0), ("thank you", 2.0), ("no action needed", 3.0), ("no action required", 3.0), ("laptop", 3.0),
    ("rota", 2.0), ("rotation", 1.5), ("who owns", 2.5), ("who runs", 2.5), ("who is responsible", 2.5),
    ("who do i contact", 2.5), ("contact", 1.0), ("schedule", 2.0), ("book a", 1.5), ("meeting", 2.0),
    ("calendar", 2.0), ("slot", 1.5), ("office", 2.0), ("training", 1.5), ("offsite", 2.0), ("lunch", 2.0),
    ("hand over", 1.0), ("handover", 1.0), ("exercise", 1.0), ("dates", 1.0), ("desk", 1.0), ("headset", 2.0),
    ("feedback", 1.5), ("kudos", 2.0), ("wiki", 1.0), ("order one", 1.5), ("owners", 1.0),
];

#[rustfmt::skip]
fn lex() -> &'static Lex {
    static LEX: OnceLock<Lex> = OnceLock::new();
    LEX.get_or_init(|| {
        let rules = [TECHNICAL_RULES, BUG_RULES, FEATURE_RULES, ACCOUNT_RULES, BILLING_RULES, OTHER_RULES]
            .iter()
            .map(|list| compile_rules(list))
            .collect();
        Lex {
            infra_nouns: compile_rules(INFRA_NOUNS),
            prod: compile_all(&[
                "prod", "production", "prd", "customer", "customers", "customer facing", "end users", "all users",
                "paying users", "live site", "live environment", "live traffic", "live system", "public status",
                "public api", "public site", "public website", "public endpoint", "public gateway", "public ingress",
                "public load balancer", "public facing", "internet facing", "our website", "revenue", "peak hours",
                "peak traffic",
            ]),
            nonprod: compile_all(&[
                "staging", "=stage", "stg", "=dev", "development", "test environment", "test env", "test cluster",
                "testing environment", "sandbox", "=qa", "uat", "preprod", "pre prod", "non prod", "nonprod", "preview",
                "=locally", "my laptop", "my machine", "minikube", "kind cluster", "playground",
            ]),
            scope_all: compile_all(&[
                "all users", "all customers", "all our customers", "every user", "every customer", "everyone",
                "everybody", "nobody", "no one", "every request", "all requests", "every call", "all calls",
                "all traffic", "all endpoints", "all regions", "all pods", "entire site", "whole site", "entire app",
                "whole app", "entire platform", "whole platform", "whole company", "entire company", "whole team",
                "whole org", "entire org", "completely", "complete outage", "total outage", "all writes", "all reads",
                "hard down", "100 percent",
            ]),
            partial: compile_all(&[
                "some users", "some customers", "some requests", "a few", "intermittent", "intermittently", "sometimes",
                "occasionally", "sporadic", "sporadically", "partial", "partially", "not affected", "unaffected",
                "only some", "flaky", "one user", "single user", "one customer", "no customer impact", "no impact",
                "not customer facing",
            ]),
            outage: compile_all(&[
                "outage", "down", "downtime", "unavailable", "unreachable", "unresponsive", "inaccessible", "offline",
                "not reachable", "not responding", "not loading", "cannot reach", "cant reach", "can not reach",
                "unable to reach", "stopped accepting", "stopped responding", "stopped serving", "service unavailable",
                "read only for", "effectively read only", "no traffic", "all writes fail", "writes are failing",
                "is dead",
            ]),
            degrade: compile_all(&[
                "error rate", "elevated", "spike", "spikes", "spiking", "degraded", "degradation", "slow", "slowness",
                "sluggish", "high latency", "latency spike", "increased latency", "latency increase", "latency went up",
                "latency is high", "timeout", "timeouts", "timed out", "time out", "times out", "timing out",
                "crashloop", "crashloopbackoff", "crash loop", "crash looping", "keep restarting", "keeps restarting",
                "restart over and over", "restarting", "restart loop", "oomkilled", "oom", "out of memory", "evicted",
                "throttled", "throttling", "high cpu", "high memory", "memory leak", "lag", "lagging", "backlog",
                "behind", "packet loss", "dropping", "dropped requests", "notready", "not ready", "delay", "delayed",
                "flapping", "5xx", "errors", "keeps climbing", "queue is growing", "unhealthy", "half capacity",
                "reduced capacity", "at capacity", "saturated", "saturation",
            ]),
            weak_failure: compile_all(&[
                "fail", "failure", "error", "broken", "crash", "panic", "not working", "doesnt work", "does not work",
                "stopped working", "cant", "cannot", "unable", "wrong", "incorrect", "exception", "stuck", "missing",
                "no effect", "ignores", "empty", "denied", "refused", "invalid",
            ]),
            data_loss: compile_all(&[
                "data loss", "lost data", "losing data", "lose data", "data is gone", "data gone", "wiped", "corrupt",
                "corrupted", "corruption", "dropped table", "drop table", "truncated table", "unrecoverable",
                "permanently deleted", "missing data", "rows missing", "lost messages", "messages lost", "no backup",
            ]),
            deletion: compile_all(&[
                "=deleted", "=deletes", "=deleting", "wiped", "purged", "=lost", "losing", "disappeared",
                "disappearing", "vanished", "gone", "overwritten",
            ]),
            data_nouns: compile_all(&[
                "data", "files", "objects", "rows", "tables", "bucket", "uploads", "database", "backups", "messages",
                "volume",
            ]),
            security: compile_all(&[
                "breach", "breached", "compromised", "leaked", "leak", "leaking", "exposed secret",
                "exposed credentials", "exposed key", "exposed password", "exposed token", "publicly exposed",
                "exposed to the internet", "unauthorized access", "unauthorised access", "security incident",
                "intrusion", "intruder", "attacker", "malware", "ransomware", "cryptominer", "crypto miner", "phishing",
                "secret scanning", "data leak", "exploited", "backdoor", "suspicious", "ddos", "other orgs",
                "another org", "another organisation", "another organization", "other tenants", "between tenants",
                "cross tenant",
            ]),
            storage: compile_all(&[
                "disk", "volume", "pvc", "pv", "storage", "filesystem", "file system", "disk space", "partition", "ebs",
                "inode", "inodes",
            ]),
            fullness: compile_all(&[
                "full", "no space", "out of space", "out of disk", "running out", "nearly full", "almost full",
                "filling up", "fills up", "disk pressure", "diskpressure", "enospc", "ran out",
            ]),
            full_now: compile_all(&[
                "no space", "out of space", "out of disk", "disk pressure", "diskpressure", "enospc", "ran out",
            ]),
            full: compile_all(&["full"]),
            login_fails: compile_all(&[
                "fail", "failure", "error", "broken", "crash", "panic", "not working", "doesnt work", "does not work",
                "stopped working", "cant", "cannot", "unable", "invalid", "denied",
            ]),
            cert: compile_all(&["cert", "certificate", "tls", "ssl", "x509"]),
            expiry: compile_all(&["expire", "expiry", "expiration", "expiring"]),
            soon: compile_all(&[
                "tomorrow", "today", "tonight", "this week", "next week", "soon", "about to", "hours", "monday",
                "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "imminent",
            ]),
            urgent: compile_all(&[
                "urgent", "urgently", "asap", "as soon as possible", "emergency", "immediate attention",
                "needed immediately", "need it immediately", "immediately please", "blocker", "blocking",
                "this is critical", "critical issue", "business critical", "mission critical", "high priority",
                "top priority", "revenue impact", "losing money", "all hands",
            ]),
            sev1: compile_all(&[
                "sev1", "sev 1", "sev0", "sev 0", "p0", "=p1", "priority 1", "severity 1", "prio 1", "incident 1",
            ]),
            not_urgent: compile_all(&[
                "not urgent", "no rush", "low priority", "when you have time", "when you get a chance",
                "whenever you can", "nice to have", "no action needed", "not blocking", "isnt blocking",
                "not a blocker", "just annoying", "minor", "not critical", "no hurry", "no customer impact",
            ]),
            cosmetic: compile_all(&[
                "typo", "typos", "spelling", "misspelled", "misspelt", "cosmetic", "alignment", "misaligned", "font",
                "colour", "color", "css", "wording", "tooltip", "padding", "ui glitch", "visual glitch", "broken link",
                "dead link",
            ]),
            question: compile_all(&[
                "how do i", "how do we", "how can i", "how can we", "how to", "how should", "how does", "how is",
                "what is the best", "whats the best", "what is the recommended", "whats the recommended",
                "recommended way", "best way", "best practice", "is it possible", "is there a way", "can we",
                "wondering", "advice", "question", "any guidance", "not sure how",
            ]),
            workaround: compile_all(&["workaround", "work around", "worked around", "temporary fix"]),
            works_otherwise: compile_all(&[
                "fixes it", "reloading", "refreshing", "works again", "it works", "works fine",
            ]),
            login: compile_all(&[
                "login", "log in", "sign in", "signin", "sso", "saml", "okta", "password", "credentials", "2fa", "mfa",
                "logon",
            ]),
            login_failure: compile_all(&[
                "locked out", "lock out", "lockout", "invalid credentials", "wrong password", "cant log in",
                "cannot log in", "unable to log in", "cant sign in", "cannot sign in", "unable to sign in",
                "cant login", "cannot login", "can not log in", "can not sign in", "nobody can sign in",
                "nobody can log in", "no one can sign in", "no one can log in", "login fails", "login failed",
                "login broken", "sign in fails", "sign in broken", "signature invalid", "fails with",
            ]),
            access_problem: compile_all(&[
                "no longer see", "cant see", "cannot see", "can not see", "lost access", "no access",
                "permission denied", "access denied", "forbidden", "not authorized", "not authorised", "unauthorized",
                "unauthorised", "dont have access", "do not have access", "cant access", "cannot access",
                "permission issue",
            ]),
            revoke: compile_all(&[
                "revoke", "offboard", "offboarded", "offboarding", "left the company", "left on", "leaving the company",
                "remove his", "remove her", "remove their", "deactivate", "disable his", "disable her",
            ]),
            billing_issue: compile_all(&[
                "charged twice", "double charged", "double charge", "duplicate charge", "overcharged", "overcharge",
                "refund", "wrong amount", "incorrect amount", "payment failed", "payment for our subscription failed",
                "card declined", "declined", "failed payment",
            ]),
            suspend: compile_all(&["suspended", "suspend", "suspension", "cut off", "terminated", "deactivated"]),
            error_phrases: compile_all(&[
                "exit code", "exit status", "exited with", "status code", "stack trace", "stacktrace", "traceback",
                "panic", "segfault", "segmentation fault", "core dumped", "connection refused", "connection reset",
                "no space left", "permission denied", "access denied", "x509", "deadline exceeded", "unknown flag",
                "could not resolve", "could not connect", "nxdomain", "servfail", "econnrefused", "etimedout", "enospc",
                "enoent", "eacces", "oomkilled", "crashloopbackoff", "imagepullbackoff", "errimagepull",
                "createcontainerconfigerror", "evicted", "notready", "bad gateway", "gateway timeout",
                "service unavailable", "internal server error", "insufficient cpu", "insufficient memory", "errno",
                "invalid memory address", "nil pointer", "null pointer", "timeout expired", "5xx", "4xx", "exception",
            ]),
            env_words: compile_all(&[
                "cluster", "namespace", "=ns", "region", "zone", "vpc", "environment", "env", "datacenter",
                "data center", "host", "hostname", "server", "vm", "node", "nodes", "instance", "bucket", "laptop",
                "runner", "account id", "subscription id", "project id",
            ]),
            products: compile_all(&[
                "postgres", "postgresql", "mysql", "mariadb", "redis", "kafka", "rabbitmq", "elasticsearch",
                "opensearch", "grafana", "prometheus", "alertmanager", "loki", "nginx", "traefik", "envoy", "istio",
                "linkerd", "vault", "consul", "terraform", "helm", "argocd", "argo", "jenkins", "gitlab", "github",
                "okta", "coredns", "etcd", "s3", "ec2", "rds", "eks", "gke", "aks", "aws", "gcp", "azure", "cloudflare",
                "keycloak", "minio", "ceph", "longhorn", "velero", "fluentd", "datadog", "sentry", "pagerduty", "slack",
                "opsdesk", "docker", "containerd", "kubelet", "calico", "cilium", "haproxy", "memcached", "mongodb",
                "cassandra", "clickhouse", "airflow", "zookeeper", "jaeger", "thanos", "cert manager", "ingress nginx",
                "kubernetes", "k8s", "cloudtrail", "chrome", "firefox", "safari",
            ]),
            timeline: compile_all(&[
                "since", "started", "began", "beginning", "as of", "ago", "today", "yesterday", "tonight",
                "this morning", "this afternoon", "this evening", "last night", "earlier", "recently", "overnight",
                "after the", "after we", "after our", "after my", "after i", "after a", "after an", "after upgrading",
                "after deploying", "nightly", "every night", "every day", "daily", "hourly", "last week", "last month",
                "this week", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
                "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
                "december", "utc", "=am", "=pm", "for the last", "for the past", "o clock", "minutes", "hours", "days",
            ]),
            steps: compile_all(&[
                "steps", "step", "to reproduce", "reproduce", "reproduced", "repro", "when i", "when we", "whenever i",
                "whenever we", "after i", "after we", "i ran", "we ran", "i run", "we run", "running", "=ran",
                "i tried", "we tried", "tried", "click", "clicked", "clicking", "press", "pressed", "go to", "went to",
                "open", "opened", "navigate", "select", "selected", "typed", "entered", "submit", "submitted",
                "uploaded", "=called", "=sent", "curl", "kubectl", "helm", "terraform apply", "executed", "deployed",
                "rolled out", "setting", "=exported", "search for", "searched", "added", "created", "installed",
                "applied", "upgraded", "upgrading", "the upgrade", "restarted", "changed", "=set",
            ]),
            expected: compile_all(&[
                "expected", "expect", "expecting", "expectation", "should", "shouldnt", "supposed to", "instead of",
                "instead", "used to", "previously", "normally", "usually", "rather than", "ought to", "intended",
                "=worked", "was working", "were working", "as before", "meant to", "would expect",
            ]),
            use_case: compile_all(&[
                "because", "since we", "so that", "so we", "so the", "so our", "so i", "so they", "so it",
                "in order to", "use case", "usecase", "we need", "need to", "needs to", "currently", "today we",
                "right now", "at the moment", "would help", "would let", "would allow", "would save", "save us",
                "saves us", "to avoid", "instead of", "manually", "by hand", "compliance", "audit", "our team",
                "savings", "time consuming", "tedious", "painful", "every month", "every week", "every day",
                "for postmortems", "for incidents", "useful for", "helps us", "help us", "would make", "we want",
                "we have to", "we copy", "asks for",
            ]),
            kubernetes: compile_all(&[
                "pod", "pods", "kubernetes", "k8s", "namespace", "crashloopbackoff", "oomkilled", "kubectl",
                "deployment", "helm", "node", "nodes", "cluster", "ingress",
            ]),
            gateway_errors: compile_all(&["bad gateway", "gateway timeout"]),
            named_nouns: stems(NAMED_NOUNS),
            service_nouns: stems(SERVICE_NOUNS),
            downtime_not_outage: stems(DOWNTIME_NOT_OUTAGE),
            down_not_outage: stems(DOWN_NOT_OUTAGE),
            leak_not_security: stems(LEAK_NOT_SECURITY),
            restarting: compile_all(&[
                "keep restarting", "kept restarting", "restart over and over", "restart loop", "crash loop",
                "crash looping", "restarting repeatedly", "keep crashing",
            ]),
            expired: compile_all(&["=expired"]),
            not_expired_yet: compile_all(&["about to expire", "will expire"]),
            no_action: compile_all(&["no action needed", "no action required", "nothing to do"]),
            rules,
        }
    })
}

// ---------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------

/// What the text says, as facts the category, severity and findings use.
#[derive(Debug, Default)]
struct Signals {
    prod: bool,
    nonprod: bool,
    scope_all: bool,
    partial: bool,
    /// A small share of traffic ("2% of requests").
    small_share: bool,
    outage: bool,
    degrade: bool,
    weak_failure: bool,
    data_loss: bool,
    security: bool,
    /// Disk nearly full (or full).
    disk: bool,
    disk_full: bool,
    cert_expiry: bool,
    cert_soon: bool,
    cert_expired: bool,
    urgent: bool,
    sev1: bool,
    not_urgent: bool,
    cosmetic: bool,
    question: bool,
    /// A how-to question ("how do I", "what is the best way").
    how_to: bool,
    feature: bool,
    workaround: bool,
    login_failure: bool,
    access_problem: bool,
    revoke: bool,
    billing_issue: bool,
    suspend: bool,
    money: bool,
    http5xx: bool,
    /// The first HTTP status code mentioned.
    status: Option<u32>,
    error_text: bool,
    env_named: bool,
    timeline: bool,
    steps: bool,
    expected: bool,
    use_case: bool,
    kubernetes: bool,
    no_action: bool,
}

impl Signals {
    /// An infrastructure incident: something is down, degraded, filling up,
    /// expiring, losing data or compromised.
    fn incident(&self) -> bool {
        self.outage
            || self.degrade
            || self.data_loss
            || self.security
            || self.disk
            || self.cert_soon
            || self.cert_expired
    }

    /// Something is wrong (rather than asked or wished for).
    fn problem(&self) -> bool {
        self.incident()
            || self.weak_failure
            || self.cosmetic
            || self.cert_expiry
            || self.login_failure
            || self.access_problem
            || self.billing_issue
    }

    /// A failure someone could quote an error for.
    fn failure(&self) -> bool {
        self.outage || self.degrade || self.weak_failure || self.login_failure
    }

    fn nonprod_only(&self) -> bool {
        self.nonprod && !self.prod
    }

    #[allow(clippy::field_reassign_with_default)] // one signal per line reads better than one big literal
    fn detect(doc: &Doc) -> Signals {
        let lex = lex();
        let mut s = Signals::default();

        // Environment: a production mention that is negated or said to be
        // fine ("nothing customer facing", "prod backups are fine") does not count.
        s.prod = lex
            .prod
            .iter()
            .any(|p| doc.find(p).into_iter().any(|pos| !doc.negated(pos) && !doc.said_fine(pos, p.0.len())));
        s.nonprod = doc.any(&lex.nonprod);
        s.scope_all = doc.any(&lex.scope_all);
        s.partial = doc.any(&lex.partial);
        s.small_share = doc.percentages.iter().any(|&(pct, _)| pct > 0.0 && pct <= 5.0);

        s.outage = lex.outage.iter().any(|p| {
            doc.find(p).into_iter().any(|pos| {
                if doc.negated(pos) {
                    return false;
                }
                let word = &doc.toks[pos].raw;
                let before = doc.prev_stem(pos).unwrap_or("");
                if word == "downtime" && lex.downtime_not_outage.contains(before) {
                    // "without downtime", "planned downtime": not an outage.
                    return false;
                }
                if word == "down" {
                    // "scale down", "shut down", "down to 2 replicas" are not outages.
                    let after = doc.next_stem(pos).unwrap_or("");
                    return !lex.down_not_outage.contains(before) && !matches!(after, "to" | "from" | "by" | "the");
                }
                true
            })
        });
        let http: Vec<u32> =
            (0..doc.toks.len()).filter_map(|i| status_code(&doc.toks, i, doc.text_of(&doc.toks[i]))).collect();
        s.status = http.first().copied();
        s.http5xx = http.iter().any(|c| *c >= 500) || doc.has_stem("5xx") || doc.any(&lex.gateway_errors);
        // A 5xx is an incident when it hits traffic (production, a share of
        // requests, everyone); one failing query is a bug.
        let pct_mentioned = !doc.percentages.is_empty();
        s.degrade = doc.any_affirmed(&lex.degrade)
            || (s.http5xx && (s.prod || s.scope_all || s.partial || pct_mentioned || doc.any(&lex.outage)));
        s.weak_failure = doc.any_affirmed(&lex.weak_failure) || http.iter().any(|c| *c >= 400);
        // An error for every request, or a 5xx for all users, is an outage.
        if s.http5xx && s.scope_all {
            s.outage = true;
        }

        // "Files are disappearing", "deletes objects": a deletion close to
        // something that holds data, in the same sentence.
        let data_nouns: Vec<usize> = lex.data_nouns.iter().flat_map(|p| doc.find(p)).collect();
        let data_near = |pos: usize| {
            let (field, sentence) = (doc.toks[pos].field, doc.toks[pos].sentence);
            data_nouns.iter().any(|&q| {
                let t = &doc.toks[q];
                t.field == field && t.sentence == sentence && q.abs_diff(pos) <= 6
            })
        };
        s.data_loss =
            doc.any_affirmed(&lex.data_loss) || doc.affirmed(&lex.deletion).into_iter().any(|(pos, _)| data_near(pos));
        s.security = lex.security.iter().any(|p| {
            doc.find(p).into_iter().any(|pos| {
                // A memory or connection leak is not a security incident.
                let before = doc.prev_stem(pos).unwrap_or("");
                let resource_leak = doc.toks[pos].stem.starts_with("leak") && lex.leak_not_security.contains(before);
                !doc.negated(pos) && !resource_leak
            })
        });

        let pcts = &doc.percentages;
        let storage = doc.any(&lex.storage);
        let high_pct = pcts.iter().any(|&(pct, _)| (85.0..=100.0).contains(&pct));
        s.disk = storage && (doc.any_affirmed(&lex.fullness) || high_pct);
        s.disk_full = storage
            && (doc.any_affirmed(&lex.full_now)
                || pcts.iter().any(|&(pct, _)| pct >= 98.0)
                || lex.full.iter().any(|p| {
                    doc.find(p)
                        .into_iter()
                        .any(|pos| !doc.negated(pos) && !matches!(doc.prev_stem(pos), Some("nearly" | "almost")))
                }));

        let cert = doc.any(&lex.cert);
        let expired = doc.any(&lex.expired);
        s.cert_expiry = cert && (doc.any(&lex.expiry) || expired);
        s.cert_expired = cert && expired && !doc.any(&lex.not_expired_yet);
        s.cert_soon =
            s.cert_expiry && !s.cert_expired && (doc.any(&lex.soon) || days_mentioned(doc).is_some_and(|d| d <= 14));

        s.urgent = doc.any_affirmed(&lex.urgent);
        s.sev1 = doc.any(&lex.sev1);
        s.not_urgent = doc.any(&lex.not_urgent);
        s.cosmetic = doc.any(&lex.cosmetic);
        s.how_to = doc.any(&lex.question);
        s.question = s.how_to || doc.description.contains('?') || doc.subject.contains('?');
        s.workaround = doc.any_affirmed(&lex.workaround) || doc.any(&lex.works_otherwise);
        s.login_failure = doc.any(&lex.login_failure) || (doc.any(&lex.login) && doc.any_affirmed(&lex.login_fails));
        s.access_problem = doc.any(&lex.access_problem);
        s.revoke = doc.any(&lex.revoke);
        s.billing_issue = doc.any(&lex.billing_issue);
        s.suspend = doc.any_affirmed(&lex.suspend);
        s.money = doc.texts().iter().any(|t| has_money(t));

        s.error_text = has_error_text(doc, !http.is_empty());
        s.env_named = s.prod || s.nonprod || doc.any(&lex.env_words) || doc.any(&lex.products) || has_identifier(doc);
        s.timeline = doc.any(&lex.timeline) || doc.texts().iter().any(|t| has_clock_time(t) || has_date(t));
        s.steps = doc.any(&lex.steps) || doc.texts().iter().any(|t| has_code_or_list(t));
        s.expected = doc.any(&lex.expected);
        s.use_case = doc.any(&lex.use_case);
        s.kubernetes = doc.any(&lex.kubernetes);
        s.no_action = doc.any(&lex.no_action);
        s.feature =
            lex.rules[cat_index(Category::FeatureRequest)].iter().any(|(p, w)| *w >= 2.0 && !doc.find(p).is_empty());
        s
    }
}

/// Words before "down" that make it something other than an outage.
#[rustfmt::skip]
const DOWN_NOT_OUTAGE: &[&str] = &[
    "scale", "shut", "slow", "wind", "drill", "turn", "narrow", "break", "track", "cut", "step", "calm", "back",
    "write", "put", "upside",
];
/// Words before "downtime" that make it something other than an outage.
#[rustfmt::skip]
const DOWNTIME_NOT_OUTAGE: &[&str] = &[
    "avoid", "without", "zero", "minimal", "minimum", "no", "prevent", "reduce", "planned", "scheduled", "maintenance",
    "any", "less", "minimise", "minimize",
];
/// Words before "leak" that make it a resource leak.
#[rustfmt::skip]
const LEAK_NOT_SECURITY: &[&str] =
    &["memory", "connection", "fd", "descriptor", "goroutine", "resource", "handle", "thread", "socket"];

/// Percentages in the text, with the token position of their number.
fn percentages(doc: &Doc) -> Vec<(f64, usize)> {
    let mut out = Vec::new();
    for (i, tok) in doc.toks.iter().enumerate() {
        if tok.kind != Kind::Number {
            continue;
        }
        let text = doc.text_of(tok);
        let rest = &text[tok.end..];
        // `93%`, `93 %`, `2.5%`.
        let mut value = number_value(&tok.raw).map(f64::from);
        let mut rest_trim = rest;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                value = format!("{}.{digits}", tok.raw).parse().ok();
                rest_trim = &frac[digits.len()..];
            }
        }
        if text[..tok.start].ends_with('.') {
            continue;
        }
        if rest_trim.trim_start().starts_with('%') || rest_trim.trim_start().starts_with("percent") {
            if let Some(v) = value {
                out.push((v, i));
            }
        }
    }
    out
}

/// The smallest "N days" / "in N days" the text mentions.
fn days_mentioned(doc: &Doc) -> Option<u32> {
    doc.toks
        .windows(2)
        .filter(|w| {
            w[0].kind == Kind::Number && w[0].field == w[1].field && matches!(w[1].raw.as_str(), "day" | "days")
        })
        .filter_map(|w| number_value(&w[0].raw))
        .min()
}

fn has_money(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(2).any(|w| matches!(w[0], '$' | '€' | '£') && w[1].is_ascii_digit())
}

/// `09:10`, `3:05`, `14:00:12`.
fn has_clock_time(text: &str) -> bool {
    let b = text.as_bytes();
    (1..b.len().saturating_sub(2)).any(|i| {
        b[i] == b':'
            && b[i - 1].is_ascii_digit()
            && b[i + 1].is_ascii_digit()
            && b[i + 2].is_ascii_digit()
            && (i + 3 >= b.len() || !b[i + 3].is_ascii_digit())
    })
}

/// `2024-03-05`, `05/03/2024`, `3 March`, `March 3rd`.
fn has_date(text: &str) -> bool {
    let b = text.as_bytes();
    let iso = b.windows(10).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..10].iter().all(u8::is_ascii_digit)
    });
    let slashed = b.windows(8).any(|w| {
        w[..2].iter().all(u8::is_ascii_digit)
            && w[2] == b'/'
            && w[3..5].iter().all(u8::is_ascii_digit)
            && w[5] == b'/'
            && w[6..8].iter().all(u8::is_ascii_digit)
    });
    iso || slashed
}

/// Code fences, inline code, shell prompts and numbered lists: signs of
/// "what I did".
fn has_code_or_list(text: &str) -> bool {
    text.contains('`')
        || text.lines().any(|line| {
            let t = line.trim_start();
            t.starts_with("$ ") || t.starts_with("# ") && t.len() > 2 && t.as_bytes()[2].is_ascii_lowercase() || {
                let digits = t.bytes().take_while(u8::is_ascii_digit).count();
                digits > 0 && digits < 3 && matches!(t.as_bytes().get(digits), Some(b'.' | b')'))
            }
        })
}

/// A quoted error, an exception, a status code, an exit code, a log line or
/// an errno in the text.
fn has_error_text(doc: &Doc, has_status: bool) -> bool {
    if has_status || doc.any(&lex().error_phrases) {
        return true;
    }
    doc.texts().iter().any(|text| {
        has_quote(text)
            || text.contains("```")
            || text.split(|c: char| !c.is_alphanumeric()).any(|w| {
                (w.len() > 6
                    && (w.ends_with("Exception") || w.ends_with("Error"))
                    && w.chars().next().is_some_and(char::is_uppercase))
                    || matches!(w, "ERROR" | "FATAL" | "WARN" | "PANIC" | "CRITICAL" | "ERR")
            })
            || has_key_value(text)
            || has_labelled_message(text)
    })
}

/// A quoted stretch: "…", '…', `…`, “…”, ‘…’, with at least two characters and
/// (for single quotes) not an apostrophe.
fn has_quote(text: &str) -> bool {
    quoted_spans(text).next().is_some()
}

/// Byte ranges of quoted stretches (contents only).
fn quoted_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut spans = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        let (i, c) = chars[k];
        let close = match c {
            '"' => Some('"'),
            '\'' => Some('\''),
            '`' => Some('`'),
            '“' => Some('”'),
            '‘' => Some('’'),
            _ => None,
        };
        let Some(close) = close else {
            k += 1;
            continue;
        };
        let before_ok = k == 0 || !chars[k - 1].1.is_alphanumeric();
        if !before_ok {
            k += 1;
            continue;
        }
        let mut found = None;
        // Quoted errors are short; looking further would make this quadratic.
        for (m, &(j, d)) in chars.iter().enumerate().skip(k + 1).take(MAX_QUOTE_CHARS) {
            if d == '\n' && close != '`' {
                break;
            }
            if d == close {
                let after_ok = chars.get(m + 1).is_none_or(|&(_, n)| !n.is_alphanumeric());
                let inner = &text[i + c.len_utf8()..j];
                if after_ok && inner.trim().chars().count() >= 2 && !inner.starts_with(' ') {
                    found = Some((m, (i + c.len_utf8(), j)));
                    break;
                }
                if close != '\'' && close != '’' {
                    break;
                }
            }
        }
        match found {
            Some((m, span)) => {
                spans.push(span);
                k = m + 1;
            }
            None => k += 1,
        }
    }
    spans.into_iter()
}

/// The longest quoted stretch looked for.
const MAX_QUOTE_CHARS: usize = 200;

/// `Ready=False`, `level=error`, `reason=OOMKilled`.
fn has_key_value(text: &str) -> bool {
    let b = text.as_bytes();
    (1..b.len().saturating_sub(1))
        .any(|i| b[i] == b'=' && b[i - 1].is_ascii_alphabetic() && b[i + 1].is_ascii_alphanumeric())
}

/// `fails: SAML response signature invalid`, `error: connection refused`.
fn has_labelled_message(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "error:",
        "fatal:",
        "fails:",
        "failed:",
        "failure:",
        "exception:",
        "says:",
        "message:",
        "reason:",
        "panic:",
        "err:",
    ]
    .iter()
    .any(|label| {
        lower.match_indices(label).any(|(i, _)| {
            lower[i + label.len()..].split_whitespace().take(2).filter(|w| w.chars().any(char::is_alphanumeric)).count()
                >= 2
        })
    })
}

/// Hyphenated English words that name nothing.
#[rustfmt::skip]
const COMMON_HYPHENATED: &[&str] = &[
    "sign-in", "sign-on", "log-in", "read-only", "write-only", "customer-facing", "user-facing", "e-mail", "on-call",
    "follow-up", "out-of-memory", "up-to-date", "built-in", "self-hosted", "self-service", "long-running",
    "multi-tenant", "x-ray", "opt-in", "opt-out", "add-on", "check-in", "set-up", "well-known", "real-time",
    "end-to-end", "day-to-day", "one-off", "high-availability", "third-party", "open-source", "so-called", "co-worker",
    "t-shirt", "time-series", "in-place", "on-prem", "on-premise", "on-premises", "auto-scaling", "non-prod",
    "pre-prod", "re-run", "dark-mode", "two-factor", "in-house", "full-text", "must-have", "nice-to-have",
];
#[rustfmt::skip]
const HYPHEN_PREFIXES: &[&str] = &[
    "per-", "non-", "pre-", "re-", "self-", "multi-", "cross-", "co-", "sub-", "un-", "anti-", "semi-", "over-",
    "under-",
];
#[rustfmt::skip]
const FILE_EXTENSIONS: &[&str] = &[
    "yaml", "yml", "json", "txt", "log", "csv", "md", "conf", "cfg", "sh", "py", "rs", "go", "js", "ts", "toml", "tf",
    "ini", "env", "xml", "html", "pdf", "png", "jpg", "zip", "gz", "tar", "sql", "lock",
];

/// Whether a whitespace-separated word names something specific: a service
/// (`payments-api`), a host (`db-1.internal`, `api.acme.io`), an address or URL.
fn identifier(word: &str) -> Option<String> {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric());
    if w.len() < 3 || w.contains('@') {
        return None;
    }
    if w.starts_with("http://") || w.starts_with("https://") {
        return Some(w.to_owned());
    }
    let lower = w.to_lowercase();
    // IPv4 address.
    let octets: Vec<&str> = lower.split('.').collect();
    if octets.len() == 4
        && octets.iter().all(|o| !o.is_empty() && o.len() <= 3 && o.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(w.to_owned());
    }
    if lower.contains('.') {
        let labels: Vec<&str> = lower.split('.').collect();
        let last = labels.last().copied().unwrap_or("");
        let host_like = labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            && labels.iter().any(|l| l.bytes().any(|b| b.is_ascii_alphabetic()))
            && (2..=8).contains(&last.len())
            && last.bytes().all(|b| b.is_ascii_alphabetic())
            && !FILE_EXTENSIONS.contains(&last)
            && !labels.iter().any(|l| matches!(*l, "e" | "g" | "i" | "etc"));
        return host_like.then(|| w.to_owned());
    }
    if lower.contains('-') || lower.contains('_') {
        if COMMON_HYPHENATED.contains(&lower.as_str()) || HYPHEN_PREFIXES.iter().any(|p| lower.starts_with(p)) {
            return None;
        }
        if !lower.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return None;
        }
        // Drop the pod hash: `payments-api-69fb74d9d4-j2l6x` names `payments-api`.
        let mut parts: Vec<&str> = w.split(['-', '_']).collect();
        if parts.len() >= 3 && is_pod_suffix(&parts[parts.len() - 1].to_lowercase()) {
            parts.pop();
        }
        if parts.len() >= 3 && is_template_hash(&parts[parts.len() - 1].to_lowercase()) {
            parts.pop();
        }
        if parts.iter().any(|p| p.len() >= 2 && p.chars().any(char::is_alphabetic)) {
            let end = parts.iter().map(|p| p.len()).sum::<usize>() + parts.len() - 1;
            return Some(w[..end].to_owned());
        }
    }
    None
}

fn has_identifier(doc: &Doc) -> bool {
    doc.texts().iter().any(|t| t.split_whitespace().any(|w| identifier(w).is_some()))
}

/// The most specific thing the text names, for phrasing questions: an
/// identifier in the subject, then in the description, then a product.
fn named_thing(doc: &Doc) -> Option<String> {
    for text in doc.texts() {
        if let Some(id) = text.split_whitespace().find_map(identifier) {
            return Some(id);
        }
    }
    // "the payments namespace", "the staging cluster".
    for (i, tok) in doc.toks.iter().enumerate().skip(1) {
        if !lex().named_nouns.contains(&tok.stem) {
            continue;
        }
        let before = &doc.toks[i - 1];
        let plain = before.kind == Kind::Word
            && before.field == tok.field
            && before.raw.len() >= 2
            && !FUNCTION_WORDS.contains(&before.raw.as_str())
            && !term_tables().stop.contains(&before.raw);
        if plain {
            let text = doc.text_of(tok);
            return Some(format!("the {}", normalise_space(&text[before.start..tok.end])));
        }
    }
    let products = &lex().products;
    let mut best: Option<(usize, usize)> = None;
    for p in products {
        if let Some(&pos) = doc.find(p).first() {
            if best.is_none_or(|(b, _)| pos < b) {
                best = Some((pos, p.0.len()));
            }
        }
    }
    best.map(|(pos, len)| {
        let first = &doc.toks[pos];
        let last = &doc.toks[pos + len - 1];
        doc.text_of(first)[first.start..last.end].to_owned()
    })
}

// ---------------------------------------------------------------------------
// Category
// ---------------------------------------------------------------------------

/// Nouns that, with the word before them, name a thing ("the payments namespace").
#[rustfmt::skip]
const NAMED_NOUNS: &[&str] =
    &["namespace", "cluster", "service", "svc", "bucket", "topic", "queue", "repo", "repository"];

/// Nouns after which "payments", "user", "billing" name a service, not money or people.
#[rustfmt::skip]
const SERVICE_NOUNS: &[&str] = &[
    "api", "service", "svc", "namespace", "ns", "pod", "team", "provider", "cluster", "app", "db", "database", "queue",
    "worker", "job", "deploy", "deployment", "gateway", "backend", "frontend", "server", "microservice", "container",
    "node", "topic", "consumer", "processor", "pipeline", "repo", "bucket", "endpoint", "proxy", "controller", "system",
    "data",
];

fn category_scores(doc: &Doc, s: &Signals) -> [f64; 6] {
    let lex = lex();
    let mut scores = [0.0; 6];
    let mut infra = 0.0;
    let groups = lex.rules.iter().enumerate().map(|(c, rules)| (Some(c), rules)).chain([(None, &lex.infra_nouns)]);
    for (c, rules) in groups {
        let contextual = c.is_some_and(|c| matches!(CATEGORIES[c], Category::Billing | Category::Account));
        for (pat, weight) in rules {
            let mut in_subject = false;
            let mut in_description = false;
            for pos in doc.find(pat) {
                if contextual && pat.0.len() == 1 {
                    // `payments-api`, "payments namespace", "user service": infrastructure names.
                    let tok = &doc.toks[pos];
                    if tok.in_compound || doc.next_stem(pos).is_some_and(|n| lex.service_nouns.contains(n)) {
                        continue;
                    }
                }
                if pos < doc.subject_len {
                    in_subject = true;
                } else {
                    in_description = true;
                }
            }
            let score = weight * (2.0 * f64::from(u8::from(in_subject)) + f64::from(u8::from(in_description)));
            match c {
                Some(c) => scores[c] += score,
                None => infra += score,
            }
        }
    }
    scores[0] += f64::min(infra, MAX_INFRA_NOUN_SCORE);
    let [technical, bug, feature, _account, billing, other] = [0, 1, 2, 3, 4, 5];
    if s.incident() {
        scores[technical] += 3.0;
    }
    if s.security {
        scores[technical] += 2.0;
    }
    if s.how_to && !s.problem() {
        scores[technical] += 1.0;
    }
    if s.http5xx {
        scores[bug] += 1.0;
        scores[technical] += 1.0;
    }
    if s.cosmetic {
        scores[bug] += 1.5;
    }
    if s.money {
        scores[billing] += 2.0;
    }
    // "No action needed": a note, not a request.
    if s.no_action && !s.problem() {
        scores[other] += 4.0;
    }
    let subject_lower = doc.subject.trim_start().to_lowercase();
    // Subjects phrased as a request for a capability.
    if [
        "feature",
        "request:",
        "fr:",
        "support for ",
        "add support",
        "please add ",
        "allow ",
        "ability to ",
        "option to ",
        "add an option",
        "add a way",
    ]
    .iter()
    .any(|p| subject_lower.starts_with(p))
    {
        scores[feature] += 3.0;
    }
    // A wish without a problem is a feature request.
    if s.feature && !s.problem() && !s.how_to {
        scores[feature] += 2.0;
    }
    // "Does X, expected Y": a defect report.
    if s.expected && s.weak_failure {
        scores[bug] += 1.0;
    }
    let infra_incident = s.outage || s.degrade || s.disk || s.cert_soon || s.cert_expired || s.data_loss;
    if infra_incident {
        for c in [feature, billing, other] {
            scores[c] *= 0.4;
        }
    }
    scores
}

/// Preference among equal scores.
const TIE_ORDER: [Category; 6] = [
    Category::FeatureRequest,
    Category::Billing,
    Category::Account,
    Category::Bug,
    Category::Technical,
    Category::Other,
];

/// Below this best score the text says too little to pick a category.
const MIN_CATEGORY_SCORE: f64 = 1.5;

fn choose_category(scores: &[f64; 6], s: &Signals, hint: Option<Category>) -> Category {
    // On a tie the more specific intent wins over the technical default.
    let (best_index, best_score) = TIE_ORDER
        .iter()
        .map(|&c| (cat_index(c), scores[cat_index(c)]))
        .fold((5, f64::MIN), |(bi, bs), (i, v)| if v > bs { (i, v) } else { (bi, bs) });
    let mut best = if best_score < MIN_CATEGORY_SCORE { Category::Other } else { CATEGORIES[best_index] };
    // An infrastructure incident is technical or a bug, whatever else it mentions.
    let infra_incident = s.outage || s.degrade || s.disk || s.cert_soon || s.cert_expired || s.data_loss;
    if infra_incident && !matches!(best, Category::Technical | Category::Bug) {
        best = if scores[1] > scores[0] { Category::Bug } else { Category::Technical };
    }
    let Some(hint) = hint else { return best };
    if hint == best {
        return hint;
    }
    let hint_score = scores[cat_index(hint)];
    match (hint, best) {
        // Technical and bug overlap for problems: the person's pick stands.
        (Category::Technical, Category::Bug) | (Category::Bug, Category::Technical) => hint,
        _ if infra_incident && !matches!(hint, Category::Technical | Category::Bug) => best,
        (Category::Other, _) => {
            if best_score >= 2.0 {
                best
            } else {
                hint
            }
        }
        _ => {
            if best_score >= 3.0 && best_score >= 2.0 * hint_score + 1.0 {
                best
            } else {
                hint
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Severity
// ---------------------------------------------------------------------------

fn severity(category: Category, s: &Signals) -> Severity {
    let nonprod_only = s.nonprod_only();
    let mut level: i32 = match category {
        Category::FeatureRequest | Category::Other => 0,
        Category::Billing => {
            if s.suspend {
                2
            } else {
                i32::from(s.billing_issue)
            }
        }
        Category::Account => {
            if s.login_failure && s.scope_all {
                2
            } else {
                i32::from(s.login_failure || s.access_problem || s.revoke)
            }
        }
        Category::Bug => i32::from(!s.cosmetic),
        Category::Technical => i32::from(s.problem() && !(s.question && !s.failure() && !s.incident())),
    };
    if s.security {
        level = 3;
    }
    if s.data_loss {
        level = level.max(if nonprod_only { 1 } else { 3 });
    }
    if s.outage {
        level = level.max(if nonprod_only {
            1
        } else if s.prod || s.scope_all {
            3
        } else {
            2
        });
    }
    if s.degrade {
        let l = if nonprod_only {
            1
        } else if s.prod || s.scope_all {
            if s.small_share || (s.partial && !s.scope_all) {
                1
            } else {
                2
            }
        } else {
            1
        };
        level = level.max(l);
    }
    if s.disk {
        level = level.max(if s.prod && !nonprod_only { 2 } else { 1 });
    }
    if s.cert_expired {
        level = level.max(if nonprod_only {
            1
        } else if s.prod {
            3
        } else {
            2
        });
    } else if s.cert_soon {
        level = level.max(if nonprod_only { 1 } else { 2 });
    } else if s.cert_expiry {
        level = level.max(1);
    }

    let problem = s.problem();
    if s.sev1 {
        level = level.max(if problem { 3 } else { 2 });
    } else if s.urgent {
        level = (level + 1).min(if problem { 3 } else { 2 });
    }
    if s.not_urgent {
        level -= 1;
    }
    let grave = s.security || s.data_loss || (s.outage && s.prod);
    if s.workaround && !grave {
        level -= 1;
    }
    if s.cosmetic && !(grave || s.outage) {
        level = level.min(0);
    }
    if nonprod_only && !s.urgent && !s.sev1 {
        level = level.min(1);
    }
    let mut level = level.clamp(0, 3);
    // An outage in production is never low.
    if s.outage && s.prod && !nonprod_only {
        level = level.max(2);
    }
    [Severity::Low, Severity::Medium, Severity::High, Severity::Critical][level as usize]
}

// ---------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------

/// Splits a description into sentences: at line breaks and at `.`, `!`, `?`
/// followed by whitespace. Code fences and lines without letters are skipped.
fn split_sentences(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || trimmed.is_empty() {
            continue;
        }
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut start = 0;
        for (k, &(i, c)) in chars.iter().enumerate() {
            if !matches!(c, '.' | '!' | '?') {
                continue;
            }
            if !chars.get(k + 1).is_none_or(|&(_, n)| n.is_whitespace()) {
                continue;
            }
            let word_before = line[..i].rsplit(char::is_whitespace).next().unwrap_or("").to_lowercase();
            if c == '.' && matches!(word_before.as_str(), "e.g" | "i.e" | "vs" | "approx" | "cf" | "incl" | "ca") {
                continue;
            }
            push_sentence(text, line_start + start, line_start + i + c.len_utf8(), &mut out);
            start = i + c.len_utf8();
        }
        push_sentence(text, line_start + start, line_start + line.len(), &mut out);
    }
    out
}

fn push_sentence(text: &str, start: usize, end: usize, out: &mut Vec<Sentence>) {
    let slice = &text[start..end];
    if slice.trim().is_empty() {
        return;
    }
    let leading = slice.len() - slice.trim_start().len();
    let mut s = start + leading;
    let e = start + slice.trim_end().len();
    // Bullets and quote marks of Markdown.
    loop {
        let rest = &text[s..e];
        let skip =
            ["- ", "* ", "• ", "> ", "+ "].iter().find(|b| rest.starts_with(**b)).map(|b| b.len()).or_else(|| {
                let hashes = rest.bytes().take_while(|b| *b == b'#').count();
                (hashes > 0 && rest[hashes..].starts_with(' ')).then_some(hashes + 1)
            });
        match skip {
            Some(n) => s += n,
            None => break,
        }
    }
    if s < e && text[s..e].chars().any(char::is_alphabetic) {
        out.push(Sentence { start: s, end: e });
    }
}

fn summary(doc: &Doc, category: Category) -> String {
    let sentences = &doc.sentences;
    let subject = normalise_space(doc.subject);
    if sentences.is_empty() {
        return clip(&subject, SUMMARY_MAX_CHARS);
    }
    let lex = lex();
    let mut scores = vec![0.0f64; sentences.len()];
    let credit = |pats: &[(Pat, f64)], scores: &mut Vec<f64>| {
        for (pat, weight) in pats {
            let mut seen = HashSet::new();
            for pos in doc.find(pat) {
                let sentence = doc.toks[pos].sentence;
                if sentence < scores.len() && seen.insert(sentence) {
                    scores[sentence] += weight;
                }
            }
        }
    };
    credit(&lex.rules[cat_index(category)], &mut scores);
    let signal_sets: [(&[Pat], f64); 10] = [
        (&lex.outage, 1.5),
        (&lex.degrade, 1.0),
        (&lex.data_loss, 1.5),
        (&lex.security, 1.5),
        (&lex.prod, 1.0),
        (&lex.nonprod, 0.5),
        (&lex.error_phrases, 1.0),
        (&lex.login_failure, 1.0),
        (&lex.billing_issue, 1.0),
        (&lex.fullness, 0.5),
    ];
    for (pats, weight) in signal_sets {
        let mut hit = HashSet::new();
        for pat in pats {
            for pos in doc.find(pat) {
                hit.insert(doc.toks[pos].sentence);
            }
        }
        for sentence in hit {
            if sentence < scores.len() {
                scores[sentence] += weight;
            }
        }
    }
    // Distinct content words per sentence: a dense sentence says more.
    let stop = &term_tables().stop;
    let mut content: Vec<FastSet<&str>> = vec![FastSet::default(); sentences.len()];
    for tok in &doc.toks[doc.subject_len..] {
        if tok.sentence < content.len() && tok.kind == Kind::Word && tok.raw.len() >= 2 && !stop.contains(&tok.raw) {
            content[tok.sentence].insert(tok.stem.as_str());
        }
    }
    for (i, sentence) in sentences.iter().enumerate() {
        let text = &doc.description[sentence.start..sentence.end];
        let words = text.split_whitespace().count();
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let visible = text.chars().filter(|c| !c.is_whitespace()).count().max(1);
        let first = text.split(|c: char| !c.is_alphanumeric()).find(|w| !w.is_empty()).unwrap_or("").to_lowercase();
        let mut score = scores[i];
        score += 0.25 * (content[i].len().min(12) as f64);
        if has_quote(text) || text.bytes().any(|b| b.is_ascii_digit()) {
            score += 0.5;
        }
        score += match i {
            0 => 1.0,
            1 => 0.3,
            _ => 0.0,
        };
        if matches!(
            first.as_str(),
            "hi" | "hello" | "hey" | "dear" | "thanks" | "thank" | "cheers" | "regards" | "best" | "greetings"
        ) && words < 8
        {
            score -= 4.0;
        }
        if words < 4 {
            score -= 1.5;
        }
        if words > 60 {
            score -= 1.0;
        }
        if (letters as f64) < 0.5 * visible as f64 {
            score -= 2.0;
        }
        scores[i] = score;
    }
    let (best, best_score) =
        scores
            .iter()
            .copied()
            .enumerate()
            .fold((0, f64::MIN), |(bi, bs), (i, v)| if v > bs { (i, v) } else { (bi, bs) });
    if best_score < 0.5 && !subject.is_empty() {
        return clip(&subject, SUMMARY_MAX_CHARS);
    }
    let mut start = sentences[best].start;
    let mut end = sentences[best].end;
    let length = |s: usize, e: usize| normalise_space(&doc.description[s..e]).chars().count();
    // A short best sentence takes its informative neighbour along, if both fit.
    if length(start, end) < 140 {
        if let Some(next) = sentences.get(best + 1) {
            if scores[best + 1] >= 1.0 && length(start, next.end) <= SUMMARY_MAX_CHARS {
                end = next.end;
            }
        }
        if end == sentences[best].end
            && best > 0
            && scores[best - 1] >= 1.0
            && length(sentences[best - 1].start, end) <= SUMMARY_MAX_CHARS
        {
            start = sentences[best - 1].start;
        }
    }
    clip(&normalise_space(&doc.description[start..end]), SUMMARY_MAX_CHARS)
}

fn normalise_space(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts `text` to at most `max` characters on a word boundary, ending in "…" when cut.
fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep: String = text.chars().take(max - 1).collect();
    let next_is_space = text.chars().nth(max - 1).is_some_and(char::is_whitespace);
    let mut cut = keep.as_str();
    if !next_is_space {
        if let Some(p) = keep.rfind(char::is_whitespace) {
            if p > max / 2 {
                cut = &keep[..p];
            }
        }
    }
    let cut = cut.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '(' | '—' | '–'));
    format!("{cut}…")
}

// ---------------------------------------------------------------------------
// Findings and questions
// ---------------------------------------------------------------------------

/// Words that say nothing in a subject.
#[rustfmt::skip]
const GENERIC_SUBJECT_WORDS: &[&str] = &[
    "help", "helps", "issue", "issues", "problem", "problems", "question", "questions", "urgent", "urgently", "asap",
    "request", "ticket", "support", "hi", "hello", "hey", "stuff", "thing", "things", "something", "anything",
    "working", "work", "works", "need", "needed", "needs", "fix", "please", "pls", "plz", "important", "quick", "again",
    "still", "emergency", "critical", "high", "priority", "attention", "fyi", "re", "fw", "fwd",
];
/// Function words, not counted as content in a subject.
#[rustfmt::skip]
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "am", "i", "we", "you", "it", "its", "my", "our",
    "your", "this", "that", "these", "those", "of", "to", "in", "on", "at", "for", "with", "by", "from", "and", "or",
    "but", "not", "no", "do", "does", "did", "dont", "doesnt", "can", "cant", "cannot", "has", "have", "had", "me",
    "us", "some", "any", "so", "as", "there", "here", "isnt", "arent", "with", "about", "all", "what", "how", "why",
];

fn subject_content_words(doc: &Doc) -> usize {
    let mut compounds = HashSet::new();
    for tok in &doc.toks[..doc.subject_len] {
        let w = tok.raw.as_str();
        if FUNCTION_WORDS.contains(&w)
            || GENERIC_SUBJECT_WORDS.contains(&w)
            || GENERIC_SUBJECT_WORDS.contains(&tok.stem.as_str())
        {
            continue;
        }
        if w.chars().count() < 2 && tok.kind == Kind::Word {
            continue;
        }
        compounds.insert(tok.start);
    }
    compounds.len()
}

fn description_words(text: &str) -> usize {
    text.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count()
}

fn finding(code: &str, level: FindingLevel, message: String) -> Finding {
    Finding { code: code.to_owned(), level, message }
}

fn findings(doc: &Doc, s: &Signals, category: Category) -> Vec<Finding> {
    let mut out = Vec::new();
    let words = description_words(doc.description);
    if words < MIN_DESCRIPTION_WORDS {
        let message = if words == 0 {
            "There is no description; the subject alone is rarely enough to act on.".to_owned()
        } else {
            format!(
                "The description is only {words} word{}; a few more details make it actionable.",
                if words == 1 { "" } else { "s" }
            )
        };
        out.push(finding("too_short", FindingLevel::Warning, message));
    }
    if subject_content_words(doc) < MIN_SUBJECT_CONTENT_WORDS {
        out.push(finding(
            "vague_subject",
            FindingLevel::Warning,
            format!("The subject \"{}\" does not say what is affected and how.", normalise_space(doc.subject)),
        ));
    }
    let technical = matches!(category, Category::Bug | Category::Technical);
    // Data loss and security incidents rarely come with an error to quote.
    let failure_report = (category == Category::Bug || (technical && s.failure()) || s.outage || s.degrade)
        && !s.data_loss
        && !s.security;
    if failure_report && !s.error_text {
        out.push(finding(
            "no_error_text",
            FindingLevel::Warning,
            "No error message, status code, log line or exit code is quoted.".to_owned(),
        ));
    }
    let question_only = s.question && !s.problem();
    if (technical && !question_only || s.incident()) && !s.env_named {
        out.push(finding(
            "no_environment",
            FindingLevel::Warning,
            "No environment, cluster, namespace, host or service is named.".to_owned(),
        ));
    }
    if s.incident() && !s.timeline {
        out.push(finding("no_timeline", FindingLevel::Info, "It does not say when the problem started.".to_owned()));
    }
    if category == Category::Bug && !s.steps {
        out.push(finding(
            "no_steps",
            FindingLevel::Info,
            "It does not say what was done when the problem appeared (steps to reproduce).".to_owned(),
        ));
    }
    if category == Category::Bug && !s.expected && !s.outage && !s.security && !s.data_loss {
        out.push(finding(
            "no_expected_behaviour",
            FindingLevel::Info,
            "It does not say what was expected to happen instead.".to_owned(),
        ));
    }
    if category == Category::FeatureRequest && !s.use_case {
        out.push(finding(
            "no_use_case",
            FindingLevel::Info,
            "It does not say what the feature is for or which problem it would solve.".to_owned(),
        ));
    }
    out
}

/// A short symptom for an example subject ("pods OOMKilled").
fn symptom(s: &Signals, doc: &Doc) -> Option<String> {
    let has = |stem: &str| doc.has_stem(stem);
    Some(if has("oomkil") || has("oom") {
        "pods OOMKilled".to_owned()
    } else if has("crashloopbackoff") || has("crashloop") {
        "pods in CrashLoopBackOff".to_owned()
    } else if doc.any(&lex().restarting) {
        "pods keep restarting".to_owned()
    } else if s.security {
        "possible security incident".to_owned()
    } else if s.data_loss {
        "data loss".to_owned()
    } else if s.disk {
        if s.disk_full { "disk full" } else { "disk nearly full" }.to_owned()
    } else if s.cert_expired {
        "certificate expired".to_owned()
    } else if s.cert_expiry {
        "certificate expiring".to_owned()
    } else if let Some(code) = s.status {
        format!("returns {code}")
    } else if s.outage {
        "unavailable".to_owned()
    } else if s.login_failure {
        "sign-in fails".to_owned()
    } else if has("timeout") {
        "requests time out".to_owned()
    } else if s.degrade && (has("slow") || has("latency")) {
        "slow responses".to_owned()
    } else {
        return None;
    })
}

fn env_phrase(doc: &Doc, s: &Signals) -> Option<&'static str> {
    if s.prod {
        Some("in production")
    } else if doc.has_stem("stag") || doc.has_stem("staging") {
        Some("in staging")
    } else if doc.toks.iter().any(|t| t.raw == "dev" || t.raw == "development") {
        Some("in dev")
    } else {
        None
    }
}

fn example_subject(doc: &Doc, s: &Signals, category: Category, thing: Option<&str>) -> String {
    if let Some(symptom) = symptom(s, doc) {
        let thing = thing.map_or("<service>", |t| t.strip_prefix("the ").unwrap_or(t));
        return match env_phrase(doc, s) {
            Some(env) => format!("{thing}: {symptom} {env}"),
            None => format!("{thing}: {symptom}"),
        };
    }
    match category {
        Category::Account => "Cannot sign in after password reset".to_owned(),
        Category::Billing => "October invoice lists the wrong number of seats".to_owned(),
        Category::FeatureRequest => "Export the ticket timeline as Markdown".to_owned(),
        Category::Other => "Who owns the data platform on-call rota?".to_owned(),
        Category::Technical | Category::Bug => match thing {
            Some(thing) => format!("{thing}: <what fails> in <environment> since <time>"),
            None => "checkout-api returns 502 in production since 09:10".to_owned(),
        },
    }
}

fn questions(findings: &[Finding], doc: &Doc, s: &Signals, category: Category) -> Vec<ClarifyingQuestion> {
    let thing = named_thing(doc);
    let about = |fallback: &str| thing.as_deref().map_or_else(|| fallback.to_owned(), |t| t.to_owned());
    findings
        .iter()
        .map(|f| {
            let question = match f.code.as_str() {
                "too_short" => match category {
                    Category::Billing => "Could you add a little more detail: which invoice, charge or plan (date and amount), and what you expected to see?".to_owned(),
                    Category::Account => "Could you add a little more detail: which user or email address, what you tried, and what you see when it fails?".to_owned(),
                    Category::FeatureRequest => "Could you describe the feature in a few more sentences: what you would like it to do, and for whom?".to_owned(),
                    Category::Other => "Could you add a few sentences on what you need and by when?".to_owned(),
                    Category::Technical | Category::Bug => format!(
                        "Could you add a few sentences about {}: what you see, where (environment, cluster, service), since when, and what you have already tried?",
                        about("the problem")
                    ),
                },
                "vague_subject" => format!(
                    "Could you give the ticket a subject that says what is affected and how, for example \"{}\"?",
                    example_subject(doc, s, category, thing.as_deref())
                ),
                "no_error_text" if s.disk && !s.outage => match &thing {
                    Some(t) => format!("How full is the storage of {t} now (for example `df -h` or the volume's usage graph), how fast is it growing, and is anything already failing with an error?"),
                    None => "How full is the storage now (for example `df -h` or the volume's usage graph), how fast is it growing, and is anything already failing with an error?".to_owned(),
                },
                "no_error_text" => {
                    let source = if s.kubernetes { " (for example from `kubectl logs` or `kubectl describe pod`)" } else { "" };
                    match &thing {
                        Some(t) => format!("What exact error do you see from {t}? Please paste the error message, HTTP status code, log line or exit code{source}."),
                        None => format!("What exact error do you see? Please paste the error message, HTTP status code, log line or exit code{source}."),
                    }
                }
                "no_environment" => match &thing {
                    Some(t) => format!("Where does {t} run: which environment (production, staging, dev), and which cluster, namespace or host?"),
                    None => "Which environment is affected (production, staging, dev), and which cluster, namespace, host or service?".to_owned(),
                },
                "no_timeline" => match &thing {
                    Some(t) => format!("When did the problem with {t} start (date, time and timezone), and is it still happening?"),
                    None => "When did the problem start (date, time and timezone), and is it still happening?".to_owned(),
                },
                "no_steps" => format!(
                    "What steps lead to the problem with {}? List what you did (commands, clicks or requests) in order.",
                    about("it")
                ),
                "no_expected_behaviour" => match &thing {
                    Some(t) => format!("What did you expect {t} to do instead?"),
                    None => "What did you expect to happen instead?".to_owned(),
                },
                "no_use_case" => "What would you use this for? Tell us the problem it would solve for your team and how you handle it today.".to_owned(),
                other => format!("Could you add more detail ({other})?"),
            };
            ClarifyingQuestion { id: f.code.clone(), question }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(a: &Analysis) -> Vec<&str> {
        a.findings.iter().map(|f| f.code.as_str()).collect()
    }

    fn has(a: &Analysis, code: &str) -> bool {
        a.findings.iter().any(|f| f.code == code)
    }

    fn flat(idf: f64) -> impl Fn(&str) -> f64 {
        move |_| idf
    }

    fn terms_of(text: &str) -> HashSet<String> {
        terms(text).into_iter().collect()
    }

    // --- category and severity -----------------------------------------

    #[test]
    fn prod_502_for_all_users_is_critical() {
        let a = analyse(
            "prod API returns 502 for all users since 09:10",
            "Every request to api.acme.io fails with 502 Bad Gateway since 09:10 UTC. Checkout is down for all customers.",
            None,
        );
        assert_eq!(a.severity, Severity::Critical, "{a:#?}");
        assert!(matches!(a.category, Category::Technical | Category::Bug), "{a:#?}");
    }

    #[test]
    fn the_prod_502_subject_alone_is_critical_too() {
        let a = analyse("prod API returns 502 for all users since 09:10", "", None);
        assert_eq!(a.severity, Severity::Critical, "{a:#?}");
        assert!(matches!(a.category, Category::Technical | Category::Bug));
    }

    #[test]
    fn a_staging_typo_is_a_low_bug() {
        let a = analyse(
            "Typo on staging login page",
            "The staging sign-in page says 'Pasword' instead of 'Password'.",
            None,
        );
        assert_eq!(a.severity, Severity::Low, "{a:#?}");
        assert_eq!(a.category, Category::Bug, "{a:#?}");
    }

    #[test]
    fn an_invoice_question_is_billing() {
        let a = analyse(
            "Invoice for October is wrong",
            "Our October invoice lists 45 seats but we only have 32 active users. Can you correct it and send a new invoice?",
            None,
        );
        assert_eq!(a.category, Category::Billing, "{a:#?}");
        assert_eq!(a.severity, Severity::Low, "{a:#?}");
    }

    #[test]
    fn a_feature_request_is_low() {
        let a = analyse(
            "Please add Slack notifications for ticket updates",
            "It would be nice if opsdesk could post to a Slack channel when a ticket changes status, so the on-call does not have to keep the tab open.",
            None,
        );
        assert_eq!(a.category, Category::FeatureRequest, "{a:#?}");
        assert_eq!(a.severity, Severity::Low, "{a:#?}");
    }

    #[test]
    fn crash_loops_in_prod_are_high_and_technical() {
        let a = analyse(
            "payments pods in CrashLoopBackOff on prod-eu",
            "payments-api-7d9f8b6c5-x2k4p keeps restarting with OOMKilled (exit code 137) since the 14:00 deploy. Error rate is around 30%.",
            None,
        );
        assert_eq!(a.category, Category::Technical, "{a:#?}");
        assert_eq!(a.severity, Severity::High, "{a:#?}");
    }

    #[test]
    fn incidents_are_never_billing_or_account_even_when_picked() {
        let a = analyse(
            "Production is down",
            "The payments service is unreachable since 10:02 and every checkout fails with 503 Service Unavailable.",
            Some(Category::Billing),
        );
        assert!(matches!(a.category, Category::Technical | Category::Bug), "{a:#?}");
        assert_eq!(a.severity, Severity::Critical);
        let b = analyse(
            "Disk full on db-2",
            "The data volume on db-2 in production is full, no space left on device.",
            Some(Category::Account),
        );
        assert!(matches!(b.category, Category::Technical | Category::Bug), "{b:#?}");
        assert!(b.severity >= Severity::High, "{b:#?}");
    }

    #[test]
    fn the_picked_category_stands_unless_the_text_disagrees() {
        let text = "Since the upgrade the dashboard shows an empty panel for node memory. Expected the usual graph.";
        assert_eq!(analyse("Empty memory panel", text, Some(Category::Technical)).category, Category::Technical);
        assert_eq!(analyse("Empty memory panel", text, Some(Category::Bug)).category, Category::Bug);
        // Clearly billing although the person picked technical.
        let a = analyse(
            "Charged twice this month",
            "Our credit card was charged twice for the Team plan subscription. Please refund the duplicate charge.",
            Some(Category::Technical),
        );
        assert_eq!(a.category, Category::Billing, "{a:#?}");
        // Nothing much to go on: the pick stands.
        assert_eq!(analyse("Hello", "Can someone call me back?", Some(Category::Account)).category, Category::Account);
    }

    #[test]
    fn account_questions_and_lockouts() {
        let invite = analyse(
            "Add new SRE to the platform org",
            "Please invite jane.doe@acme.io to the platform org with the operator role.",
            None,
        );
        assert_eq!(invite.category, Category::Account, "{invite:#?}");
        assert_eq!(invite.severity, Severity::Low);
        let locked = analyse(
            "Locked out after password reset",
            "I reset my password this morning and now sign-in says 'invalid credentials' with both passwords.",
            None,
        );
        assert_eq!(locked.category, Category::Account, "{locked:#?}");
        assert_eq!(locked.severity, Severity::Medium);
    }

    #[test]
    fn how_to_questions_are_low_technical() {
        let a = analyse(
            "How do I configure a readiness probe for a gRPC service?",
            "We are moving the inventory service to gRPC and I am not sure how to set up the probe in our Helm chart.",
            None,
        );
        assert_eq!(a.category, Category::Technical, "{a:#?}");
        assert_eq!(a.severity, Severity::Low, "{a:#?}");
    }

    #[test]
    fn environment_moves_severity() {
        let prod = analyse(
            "Checkout slow",
            "Checkout in production takes 20 seconds, latency spike on the checkout-api since 10:00.",
            None,
        );
        let staging = analyse(
            "Checkout slow",
            "Checkout in staging takes 20 seconds, latency spike on the checkout-api since 10:00.",
            None,
        );
        assert_eq!(prod.severity, Severity::High, "{prod:#?}");
        assert_eq!(staging.severity, Severity::Medium, "{staging:#?}");
        let staging_down = analyse(
            "Staging is down",
            "The staging cluster API is unreachable since 10:00, nobody can deploy to staging.",
            None,
        );
        assert_eq!(staging_down.severity, Severity::Medium, "{staging_down:#?}");
        let urgent = analyse(
            "Staging is down, urgent",
            "The staging cluster API is unreachable since 10:00 and it blocks today's release. Urgent please.",
            None,
        );
        assert_eq!(urgent.severity, Severity::High, "{urgent:#?}");
    }

    #[test]
    fn security_and_data_loss_are_critical() {
        let leak = analyse(
            "AWS access key leaked",
            "An AWS access key for the deploy user was pushed to a public GitHub repository 40 minutes ago.",
            None,
        );
        assert_eq!(leak.severity, Severity::Critical, "{leak:#?}");
        let loss = analyse(
            "Customer uploads disappearing",
            "Files uploaded by customers are deleted from the uploads bucket after a day by the new lifecycle rule. No backup.",
            None,
        );
        assert_eq!(loss.severity, Severity::Critical, "{loss:#?}");
        let memory_leak = analyse(
            "Memory leak in worker",
            "The worker in staging has a memory leak: RSS grows 50 MB per hour until OOMKilled.",
            None,
        );
        assert!(memory_leak.severity <= Severity::Medium, "{memory_leak:#?}");
    }

    #[test]
    fn words_around_a_signal_change_it() {
        let planned = analyse(
            "Rotate etcd keys",
            "How do we rotate the etcd encryption key without downtime on the prod clusters?",
            None,
        );
        assert_eq!(planned.severity, Severity::Low, "{planned:#?}");
        let scaled = analyse(
            "Scale down the batch workers",
            "Please scale down the batch workers in staging to 2 replicas tonight.",
            None,
        );
        assert!(scaled.severity <= Severity::Medium, "{scaled:#?}");
        let down = analyse(
            "Batch workers down",
            "The batch workers in production are down since 02:00; nothing is processed.",
            None,
        );
        assert_eq!(down.severity, Severity::Critical, "{down:#?}");
        // "payments" in a service name is not about money.
        let service = analyse(
            "payments namespace pods pending",
            "New payments-api pods stay Pending in prod: 0/6 nodes available, insufficient cpu.",
            None,
        );
        assert_eq!(service.category, Category::Technical, "{service:#?}");
    }

    #[test]
    fn certificates_and_disks() {
        let cert = analyse(
            "TLS certificate for status.acme.io expires in 4 days",
            "cert-manager has not renewed the certificate for our public status page; the Certificate shows Ready=False.",
            None,
        );
        assert_eq!(cert.severity, Severity::High, "{cert:#?}");
        assert_eq!(cert.category, Category::Technical);
        let disk = analyse(
            "Disk almost full on prod postgres",
            "The data volume on pg-prod-1 is at 93% and growing 2% per hour.",
            None,
        );
        assert_eq!(disk.severity, Severity::High, "{disk:#?}");
        let ci = analyse(
            "Disk full on CI runner",
            "The CI runner ci-runner-3 ran out of disk space; jobs fail with 'no space left on device'.",
            None,
        );
        assert_eq!(ci.severity, Severity::Medium, "{ci:#?}");
    }

    #[test]
    fn urgency_words_raise_and_calm_words_lower() {
        let base = "The nightly report job fails with exit code 1 since Monday.";
        let normal = analyse("Report job failing", base, None);
        let urgent = analyse("Report job failing - sev1", base, None);
        let calm = analyse("Report job failing", &format!("{base} Not urgent, no rush."), None);
        assert!(urgent.severity > normal.severity, "{normal:#?} {urgent:#?}");
        assert!(calm.severity < normal.severity || calm.severity == Severity::Low, "{calm:#?}");
        // "not urgent" is not urgent.
        assert!(
            analyse("Question about helm values", "How do I override a value per environment? Not urgent.", None)
                .severity
                == Severity::Low
        );
    }

    #[test]
    fn other_is_for_what_fits_nowhere() {
        let a = analyse(
            "Thanks for the DNS migration",
            "Just wanted to say thanks for sorting out the DNS migration so quickly. No action needed.",
            None,
        );
        assert_eq!(a.category, Category::Other, "{a:#?}");
        assert_eq!(a.severity, Severity::Low);
        assert_eq!(analyse("Hello", "", None).category, Category::Other);
    }

    // --- summary -------------------------------------------------------

    fn assert_extractive(summary: &str, subject: &str, description: &str) {
        let haystack = normalise_space(&format!("{subject} {description}"));
        let needle = summary.trim_end_matches('…');
        assert!(haystack.contains(needle), "summary {summary:?} is not taken from the text");
        assert!(summary.chars().count() <= SUMMARY_MAX_CHARS, "summary too long: {}", summary.chars().count());
    }

    #[test]
    fn the_summary_is_an_informative_sentence_of_the_text() {
        let subject = "Checkout broken";
        let description = "Hi team,\nhope you are well. Since we rolled out release 2.14 to production at 10:05, \
                           about 15% of checkout requests return HTTP 500 with a NullPointerException. \
                           Thanks!";
        let a = analyse(subject, description, None);
        assert_extractive(&a.summary, subject, description);
        assert!(a.summary.contains("HTTP 500"), "{:?}", a.summary);
        assert!(!a.summary.contains("Hi team"), "{:?}", a.summary);
    }

    #[test]
    fn the_summary_falls_back_to_the_subject() {
        let a = analyse("Kafka consumer lag on orders topic", "", None);
        assert_eq!(a.summary, "Kafka consumer lag on orders topic");
        let b = analyse("Kafka consumer lag on orders topic", "Hi!\nThanks.", None);
        assert_eq!(b.summary, "Kafka consumer lag on orders topic");
    }

    #[test]
    fn long_sentences_are_clipped_on_a_word_boundary() {
        let long = "The ingress controller in the production cluster returns intermittent 502 errors for requests \
                    routed to the payments service whenever the upstream pods are rescheduled onto the new node pool \
                    which happens several times per hour because the cluster autoscaler keeps replacing spot \
                    instances and the readiness probes do not account for the connection draining period that the \
                    payments service needs before it can accept new traffic safely again";
        let a = analyse("502s from ingress", long, None);
        assert!(a.summary.ends_with('…'), "{:?}", a.summary);
        assert!(a.summary.chars().count() <= SUMMARY_MAX_CHARS);
        assert_extractive(&a.summary, "502s from ingress", long);
        let cut = a.summary.trim_end_matches('…');
        assert!(long.contains(&format!("{cut} ")), "not cut at a word boundary: {cut:?}");
        // Whitespace and line breaks are normalised, non-ASCII text is cut on characters.
        let unicode = "Überprüfung ".repeat(40);
        let u = analyse("Übersicht", &unicode, None);
        assert!(u.summary.chars().count() <= SUMMARY_MAX_CHARS);
        assert_extractive(&u.summary, "Übersicht", &unicode);
    }

    #[test]
    fn a_short_best_sentence_takes_its_neighbour() {
        let subject = "Prod database down";
        let description =
            "Postgres primary unreachable in prod. All writes fail with 'connection refused' since 03:12.";
        let a = analyse(subject, description, None);
        assert_extractive(&a.summary, subject, description);
        assert!(a.summary.contains("unreachable") && a.summary.contains("connection refused"), "{:?}", a.summary);
    }

    // --- findings ------------------------------------------------------

    const GOOD_BUG_SUBJECT: &str = "Checkout returns 500 after release 2.14";
    const GOOD_BUG: &str = "Since we rolled out release 2.14 to production at 10:05, about 15% of checkout requests \
        return HTTP 500 with `NullPointerException at CartService.applyDiscount`. Steps: add a discounted item to the \
        cart and press Pay. Expected the order to go through as before.";

    #[test]
    fn a_complete_bug_report_has_no_findings() {
        let a = analyse(GOOD_BUG_SUBJECT, GOOD_BUG, None);
        assert_eq!(a.category, Category::Bug, "{a:#?}");
        assert!(a.findings.is_empty(), "{:?}", codes(&a));
        assert!(a.questions.is_empty());
    }

    #[test]
    fn too_short_fires_on_short_descriptions_only() {
        assert!(has(&analyse("Checkout returns 500 in prod", "It is broken since 10:00.", None), "too_short"));
        assert!(has(&analyse("Checkout returns 500 in prod", "", None), "too_short"));
        assert!(!has(&analyse(GOOD_BUG_SUBJECT, GOOD_BUG, None), "too_short"));
    }

    #[test]
    fn vague_subject_fires_on_generic_subjects() {
        for subject in
            ["help", "Issue", "Problem!!", "not working", "URGENT", "Urgent help needed", "Question", "DNS broken"]
        {
            assert!(has(&analyse(subject, GOOD_BUG, None), "vague_subject"), "{subject}");
        }
        for subject in [GOOD_BUG_SUBJECT, "Disk full on db-1", "payments pods OOMKilled in prod", "Okta login broken"] {
            assert!(!has(&analyse(subject, GOOD_BUG, None), "vague_subject"), "{subject}");
        }
    }

    #[test]
    fn no_error_text_fires_for_failures_without_an_error() {
        let bare = analyse(
            "Payments API broken in production",
            "Since 10:00 the payments API in production is broken for most customers after the deploy of the new release.",
            None,
        );
        assert!(has(&bare, "no_error_text"), "{:?}", codes(&bare));
        for quoted in [
            "Since 10:00 the payments API in production fails with 'connection reset by peer' after the deploy.",
            "Since 10:00 the payments API in production returns 503 for most customers after the deploy.",
            "Since 10:00 the payments pods in production exit with exit code 1 after the deploy of the release.",
            "Since 10:00 the payments API in production logs ERROR could not reach ledger after the deploy.",
            "Since 10:00 the payments API in production throws a java.lang.IllegalStateException after the deploy.",
        ] {
            let a = analyse("Payments API broken in production", quoted, None);
            assert!(!has(&a, "no_error_text"), "{quoted}: {:?}", codes(&a));
        }
        // Questions and feature requests are not asked for errors.
        let how = analyse(
            "How do I rotate the Grafana admin password?",
            "We would like to rotate it every quarter and store it in Vault. What is the recommended way?",
            None,
        );
        assert!(!has(&how, "no_error_text"), "{:?}", codes(&how));
    }

    #[test]
    fn no_environment_fires_when_nothing_is_named() {
        let a = analyse(
            "The API is down",
            "Nobody can reach the API since 10:00, requests time out after 30 seconds.",
            None,
        );
        assert!(has(&a, "no_environment"), "{:?}", codes(&a));
        for named in [
            "Nobody can reach the API in production since 10:00, requests time out after 30 seconds.",
            "Nobody can reach api.acme.io since 10:00, requests time out after 30 seconds.",
            "Nobody can reach the orders-api since 10:00, requests time out after 30 seconds.",
            "Nobody can reach the API on the eu-west cluster since 10:00, requests time out after 30 seconds.",
        ] {
            let a = analyse("The API is down", named, None);
            assert!(!has(&a, "no_environment"), "{named}: {:?}", codes(&a));
        }
        // Billing questions do not need an environment.
        let bill = analyse(
            "Invoice for October is wrong",
            "Our October invoice lists 45 seats but we only have 32 users. Please send a corrected invoice.",
            None,
        );
        assert!(!has(&bill, "no_environment"), "{:?}", codes(&bill));
    }

    #[test]
    fn no_timeline_fires_for_incidents_without_a_when() {
        let a = analyse(
            "Orders API in production is down",
            "The orders-api in production is unreachable; every request gets a 503 from the ingress.",
            None,
        );
        assert!(has(&a, "no_timeline"), "{:?}", codes(&a));
        let b = analyse(
            "Orders API in production is down",
            "Since 09:40 the orders-api in production is unreachable; every request gets a 503.",
            None,
        );
        assert!(!has(&b, "no_timeline"), "{:?}", codes(&b));
        // Not an incident: no timeline asked.
        let c = analyse(
            "Export the timeline as Markdown",
            "It would help our postmortems if the timeline could be exported as Markdown.",
            None,
        );
        assert!(!has(&c, "no_timeline"), "{:?}", codes(&c));
    }

    #[test]
    fn no_steps_and_no_expected_behaviour_fire_for_bugs() {
        let a = analyse(
            "Uptime report CSV is empty",
            "The monthly uptime report CSV only contains the header row although the page shows 30 rows of data for the month.",
            None,
        );
        assert_eq!(a.category, Category::Bug, "{a:#?}");
        assert!(has(&a, "no_steps"), "{:?}", codes(&a));
        assert!(has(&a, "no_expected_behaviour"), "{:?}", codes(&a));
        let b = analyse(
            "Uptime report CSV is empty",
            "When I export the monthly uptime report as CSV the file only has the header row. It should contain the 30 rows the page shows; this worked last month.",
            None,
        );
        assert!(!has(&b, "no_steps"), "{:?}", codes(&b));
        assert!(!has(&b, "no_expected_behaviour"), "{:?}", codes(&b));
        // Not a bug: neither is asked.
        let c = analyse(
            "Question about terraform state locking",
            "What's the recommended way to handle state locking for our terraform modules in the shared S3 backend?",
            None,
        );
        assert!(!has(&c, "no_steps") && !has(&c, "no_expected_behaviour"), "{:?}", codes(&c));
    }

    #[test]
    fn no_use_case_fires_for_feature_requests_without_a_why() {
        let a = analyse("Feature request: dark mode for the terminal", "Would like a dark theme option.", None);
        assert_eq!(a.category, Category::FeatureRequest);
        assert!(has(&a, "no_use_case"), "{:?}", codes(&a));
        let b = analyse(
            "Feature request: dark mode for the terminal",
            "Would like a dark theme option for the terminal because we run incident calls at night and the white screen is blinding.",
            None,
        );
        assert!(!has(&b, "no_use_case"), "{:?}", codes(&b));
    }

    #[test]
    fn questions_follow_findings_and_name_what_was_named() {
        let a = analyse("payments-api broken", "The payments-api keeps failing.", None);
        let finding_codes: Vec<&str> = codes(&a);
        let question_ids: Vec<&str> = a.questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(finding_codes, question_ids);
        assert!(a.questions.iter().all(|q| q.question.contains('?')), "{:#?}", a.questions);
        let error_question = a.questions.iter().find(|q| q.id == "no_error_text").expect("no_error_text asked");
        assert!(error_question.question.contains("payments-api"), "{}", error_question.question);
        // Pod hashes are not part of the name.
        let b = analyse("crash loop", "payments-api-69fb74d9d4-j2l6x keeps restarting.", None);
        let q = b.questions.iter().find(|q| q.id == "vague_subject").expect("vague subject");
        assert!(
            q.question.contains("payments-api: pods in CrashLoopBackOff") || q.question.contains("payments-api"),
            "{}",
            q.question
        );
        assert!(!q.question.contains("j2l6x"), "{}", q.question);
    }

    #[test]
    fn findings_have_the_documented_levels() {
        let a = analyse("help", "down", None);
        for f in &a.findings {
            let expected = match f.code.as_str() {
                "too_short" | "vague_subject" | "no_error_text" | "no_environment" => FindingLevel::Warning,
                _ => FindingLevel::Info,
            };
            assert_eq!(f.level, expected, "{f:?}");
            assert!(!f.message.is_empty());
        }
    }

    // --- terms and similarity --------------------------------------------

    #[test]
    fn terms_fold_synonyms() {
        let outage = ["outage", "down", "unavailable", "unreachable", "not responding"];
        for word in outage {
            assert!(terms_of(&format!("api {word}")).contains("outage"), "{word}");
        }
        for text in [
            "CrashLoopBackOff",
            "crashloop",
            "pods keep restarting",
            "keeps restarting",
            "restarting over and over",
            "crash looping",
        ] {
            assert!(terms_of(text).contains("crashloop"), "{text}: {:?}", terms(text));
        }
        for text in ["OOMKilled", "oom", "out of memory", "Out-of-memory", "exit code 137"] {
            assert!(terms_of(text).contains("oom"), "{text}: {:?}", terms(text));
        }
        for text in ["disk", "volume", "storage", "PVC"] {
            assert!(terms_of(text).contains("storage"), "{text}");
        }
        for text in ["disk full", "no space left on device", "out of disk space"] {
            let t = terms_of(text);
            assert!(t.contains("storage") && t.contains("full"), "{text}: {t:?}");
        }
        for text in ["db", "database", "Postgres", "postgresql"] {
            assert!(terms_of(text).contains("database"), "{text}");
        }
        for text in ["k8s", "Kubernetes", "kube"] {
            assert_eq!(terms(text), vec!["kubernetes".to_owned()], "{text}");
        }
        for text in ["cert", "certificate", "TLS", "SSL", "x509"] {
            assert_eq!(terms(text), vec!["certificate".to_owned()], "{text}");
        }
        for text in ["DNS", "could not resolve", "resolution", "NXDOMAIN"] {
            assert!(terms_of(text).contains("dns"), "{text}");
        }
        for text in ["latency", "slow", "slowness", "p99"] {
            assert!(terms_of(text).contains("latency"), "{text}");
        }
        for text in ["sign in", "sign-in", "log in", "login", "logging in"] {
            assert!(terms_of(text).contains("login"), "{text}: {:?}", terms(text));
        }
    }

    #[test]
    fn terms_stem_and_drop_noise() {
        assert_eq!(terms("The pods were restarted"), vec!["pod", "restart"]);
        assert_eq!(terms("nodes node"), vec!["node", "node"]);
        assert_eq!(terms("Hi team, please help!!! Thanks"), Vec::<String>::new());
        // Inflections meet.
        assert_eq!(terms("caching"), terms("cache"));
        assert_eq!(terms("routes"), terms("route"));
        assert_eq!(terms("scheduling"), terms("scheduled"));
        assert_eq!(terms("repeatedly"), terms("repeated"));
        // Every term is plain lowercase alphanumerics.
        for t in terms("payments-api_v2 (ns: prod-eu) 'x509: certificate expired' at 2024-03-05T10:00Z ÜBER café") {
            assert!(t.chars().all(|c| c.is_alphanumeric() && !c.is_uppercase()), "{t}");
        }
    }

    #[test]
    fn terms_normalise_ids_numbers_and_pod_hashes() {
        assert_eq!(terms("app-69fb74d9d4-j2l6x"), vec!["app"]);
        assert_eq!(terms("payments-api-69fb74d9d4-j2l6x"), terms("payments-api-5c8d7f9b6-xk2pl"));
        assert_eq!(terms("kube-proxy-x7k2p"), terms("kube-proxy-bxkzq"));
        assert_eq!(
            terms("request 3f2a1c9e-4b5d-4e6f-8a7b-9c0d1e2f3a4b failed"),
            terms("request 0e1d2c3b-4a59-4687-b6c5-d4e3f2a1b0c9 failed")
        );
        assert_eq!(terms("commit 3f2a9c1 broke it"), terms("commit 8b7e6d5 broke it"));
        assert_eq!(terms("at 09:10 on 2024-03-05, 3 nodes"), terms("at 14:22 on 2024-04-11, 5 nodes"));
        assert_eq!(terms("10.20.3.7 timeout"), terms("10.0.0.12 timeout"));
        // Host ordinals go, the name stays.
        assert_eq!(terms("db01"), terms("db-2"));
        // HTTP statuses stay, with their class.
        assert_eq!(terms("returns 502"), vec!["http5xx", "http502"]);
        assert!(terms_of("HTTP 404 Not Found").contains("http4xx"));
        assert!(!terms_of("500 users").contains("http5xx"));
        assert!(!terms_of("$500 refund").contains("http5xx"));
        assert!(!terms_of("disk at 500 GB").contains("http5xx"));
        assert!(!terms_of("error rate 502%").contains("http5xx"));
    }

    #[test]
    fn similarity_basics() {
        let idf = flat(1.0);
        let a = terms("Pods in payments namespace keep restarting with OOMKilled");
        assert!((similarity(&a, &a, &idf) - 1.0).abs() < 1e-12);
        assert_eq!(similarity(&a, &a, &idf), 1.0);
        assert_eq!(similarity(&a, &terms("Invoice for October is wrong"), &idf), 0.0);
        assert_eq!(similarity(&[], &[], &idf), 0.0);
        assert_eq!(similarity(&a, &[], &idf), 0.0);
        // Order does not matter.
        let mut reversed = a.clone();
        reversed.reverse();
        assert_eq!(similarity(&a, &reversed, &idf), 1.0);
        // Reordered sentences score the same as the original.
        let one = terms("Checkout is down. Every request returns 502 since 09:10.");
        let two = terms("Every request returns 502 since 09:10. Checkout is down.");
        let base = terms("checkout returns 502");
        assert!((similarity(&base, &one, &idf) - similarity(&base, &two, &idf)).abs() < 1e-12);
        // Weights matter: a shared rare term counts more than a shared common one.
        let x = vec!["rare".to_owned(), "common".to_owned()];
        let y = vec!["rare".to_owned(), "other".to_owned()];
        let z = vec!["common".to_owned(), "other".to_owned()];
        let skewed = |t: &str| if t == "common" { 0.1 } else { 2.0 };
        assert!(similarity(&x, &y, &skewed) > similarity(&x, &z, &skewed));
        // Bad weights do not poison the score.
        let nan = |_: &str| f64::NAN;
        assert_eq!(similarity(&x, &y, &nan), 0.0);
        let inf = |t: &str| if t == "rare" { f64::INFINITY } else { 1.0 };
        let s = similarity(&x, &y, &inf);
        assert!((0.0..=1.0).contains(&s));
    }

    #[test]
    fn reworded_reports_of_one_problem_are_similar() {
        let idf = flat(1.0);
        let a = terms("Pods in payments namespace keep restarting with OOMKilled");
        let b = terms("payments: OOMKilled — the pods restart over and over");
        let c = terms("Invoice for October is wrong");
        let same = similarity(&a, &b, &idf);
        let different = similarity(&a, &c, &idf);
        assert!(same >= 0.8, "{same}: {a:?} vs {b:?}");
        assert!(different <= 0.1, "{different}");
        let d = terms("prod API down: every call gets 502 Bad Gateway");
        let e = terms("Production api unreachable, 502s for all requests");
        assert!(similarity(&d, &e, &idf) >= 0.5, "{} {d:?} {e:?}", similarity(&d, &e, &idf));
    }

    #[test]
    fn odd_input_never_panics() {
        // A fixed pseudo-random generator: the same strings every run.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pool: Vec<char> =
            "aeiouxyzKQ0123456789 \n\t.,;:!?-_'\"`’‘“”()[]{}<>/\\@#$%&*=+~|^²٣ßÜİçé日本語🙂\u{200b}\u{301}"
                .chars()
                .collect();
        let words = [
            "prod",
            "down",
            "502",
            "oomkilled",
            "keep restarting",
            "app-69fb74d9d4-j2l6x",
            "e.g.",
            "'quote'",
            "```",
            "1.",
            "$500",
            "93%",
            "since 09:10",
            "no space left",
            "how do i",
        ];
        for round in 0..1500 {
            let len = (next() % 120) as usize;
            let mut text = String::new();
            for _ in 0..len {
                if next() % 5 == 0 {
                    text.push_str(words[(next() % words.len() as u64) as usize]);
                } else {
                    text.push(pool[(next() % pool.len() as u64) as usize]);
                }
            }
            let split = text.char_indices().nth(len / 3).map_or(0, |(i, _)| i);
            let (subject, description) = text.split_at(split);
            let a = analyse(subject, description, if round % 2 == 0 { None } else { Some(Category::Other) });
            assert!(a.summary.chars().count() <= SUMMARY_MAX_CHARS);
            assert_eq!(a.findings.len(), a.questions.len());
            for t in terms(&text) {
                assert!(!t.is_empty() && t.chars().all(char::is_alphanumeric), "{t:?} from {text:?}");
            }
        }
    }

    #[test]
    fn adversarial_input_stays_linear() {
        let quotes = " 'a".repeat(3_000);
        let deletions = "deleted files from the bucket ".repeat(300);
        let started = std::time::Instant::now();
        for text in [quotes.as_str(), deletions.as_str()] {
            std::hint::black_box(analyse("subject", text, None));
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn analysis_is_fast() {
        let description = GOOD_BUG.repeat(8);
        let runs = 200;
        let started = std::time::Instant::now();
        for _ in 0..runs {
            std::hint::black_box(analyse(GOOD_BUG_SUBJECT, &description, None));
            std::hint::black_box(terms(&description));
        }
        let per_run = started.elapsed() / runs;
        // Generous for unoptimised test builds on a busy machine; release builds take well under 1 ms.
        assert!(per_run < std::time::Duration::from_millis(20), "{per_run:?} per analysis");
    }

    // --- the labelled set ----------------------------------------------

    /// A minimal JSON reader for the labelled set (no dependencies here).
    #[derive(Clone, Debug)]
    #[allow(dead_code)]
    enum Json {
        Null,
        Bool(bool),
        Num(f64),
        Str(String),
        Arr(Vec<Json>),
        Obj(Vec<(String, Json)>),
    }

    impl Json {
        fn parse(text: &str) -> Json {
            let chars: Vec<char> = text.chars().collect();
            let mut pos = 0;
            let value = Self::value(&chars, &mut pos);
            Self::ws(&chars, &mut pos);
            assert_eq!(pos, chars.len(), "trailing characters in JSON");
            value
        }

        fn ws(c: &[char], p: &mut usize) {
            while *p < c.len() && c[*p].is_whitespace() {
                *p += 1;
            }
        }

        fn value(c: &[char], p: &mut usize) -> Json {
            Self::ws(c, p);
            match c[*p] {
                '{' => {
                    *p += 1;
                    let mut fields = Vec::new();
                    loop {
                        Self::ws(c, p);
                        if c[*p] == '}' {
                            *p += 1;
                            break;
                        }
                        let Json::Str(key) = Self::value(c, p) else { panic!("object key at {p}") };
                        Self::ws(c, p);
                        assert_eq!(c[*p], ':');
                        *p += 1;
                        fields.push((key, Self::value(c, p)));
                        Self::ws(c, p);
                        if c[*p] == ',' {
                            *p += 1;
                        }
                    }
                    Json::Obj(fields)
                }
                '[' => {
                    *p += 1;
                    let mut items = Vec::new();
                    loop {
                        Self::ws(c, p);
                        if c[*p] == ']' {
                            *p += 1;
                            break;
                        }
                        items.push(Self::value(c, p));
                        Self::ws(c, p);
                        if c[*p] == ',' {
                            *p += 1;
                        }
                    }
                    Json::Arr(items)
                }
                '"' => {
                    *p += 1;
                    let mut s = String::new();
                    while c[*p] != '"' {
                        if c[*p] == '\\' {
                            *p += 1;
                            match c[*p] {
                                'n' => s.push('\n'),
                                't' => s.push('\t'),
                                'r' => s.push('\r'),
                                'u' => {
                                    let hex: String = c[*p + 1..*p + 5].iter().collect();
                                    s.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap_or('?'));
                                    *p += 4;
                                }
                                other => s.push(other),
                            }
                        } else {
                            s.push(c[*p]);
                        }
                        *p += 1;
                    }
                    *p += 1;
                    Json::Str(s)
                }
                't' => {
                    *p += 4;
                    Json::Bool(true)
                }
                'f' => {
                    *p += 5;
                    Json::Bool(false)
                }
                'n' => {
                    *p += 4;
                    Json::Null
                }
                _ => {
                    let start = *p;
                    while *p < c.len() && (c[*p].is_ascii_digit() || matches!(c[*p], '-' | '+' | '.' | 'e' | 'E')) {
                        *p += 1;
                    }
                    Json::Num(c[start..*p].iter().collect::<String>().parse().unwrap())
                }
            }
        }

        fn get(&self, key: &str) -> &Json {
            match self {
                Json::Obj(fields) => &fields.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no {key}")).1,
                _ => panic!("not an object"),
            }
        }

        fn str(&self) -> &str {
            match self {
                Json::Str(s) => s,
                _ => panic!("not a string"),
            }
        }

        fn arr(&self) -> &[Json] {
            match self {
                Json::Arr(items) => items,
                _ => panic!("not an array"),
            }
        }

        fn bool(&self) -> bool {
            match self {
                Json::Bool(b) => *b,
                _ => panic!("not a bool"),
            }
        }
    }

    const LABELLED: &str = include_str!("../../tests/data/review_labelled.json");

    /// The server's idf: ln(1 + N / (1 + df)) over a set of documents.
    fn idf_over(docs: &[Vec<String>]) -> impl Fn(&str) -> f64 {
        let mut df: HashMap<String, usize> = HashMap::new();
        for doc in docs {
            for term in doc.iter().collect::<HashSet<_>>() {
                *df.entry(term.clone()).or_default() += 1;
            }
        }
        let n = docs.len() as f64;
        move |term: &str| (1.0 + n / (1.0 + *df.get(term).unwrap_or(&0) as f64)).ln()
    }

    /// Accuracy on the labelled set, and duplicate scores as the server
    /// computes them (query: subject twice + description, as a bag; stored
    /// side: the same text's terms, deduplicated).
    #[test]
    fn labelled_set() {
        let data = Json::parse(LABELLED);
        let cases = data.get("categories").arr();
        let (mut category_hits, mut severity_hits, mut near_severity, mut pick_kept) = (0, 0, 0, 0);
        for case in cases {
            let (subject, description) = (case.get("subject").str(), case.get("description").str());
            let want_category: Category = case.get("category").str().parse().unwrap();
            let want_severity: Severity = case.get("severity").str().parse().unwrap();
            let a = analyse(subject, description, None);
            category_hits += usize::from(a.category == want_category);
            severity_hits += usize::from(a.severity == want_severity);
            near_severity += usize::from((a.severity as i32 - want_severity as i32).abs() <= 1);
            if a.category != want_category || a.severity != want_severity {
                println!(
                    "MISS {subject:?}: got {}/{} want {}/{}",
                    a.category.as_str(),
                    a.severity.as_str(),
                    want_category.as_str(),
                    want_severity.as_str()
                );
            }
            // With the right category picked, the pick should stand.
            let with_pick = analyse(subject, description, Some(want_category)).category;
            pick_kept += usize::from(with_pick == want_category);
            if with_pick != want_category {
                println!("PICK {subject:?}: {} picked, suggested {}", want_category.as_str(), with_pick.as_str());
            }
            assert!(a.summary.chars().count() <= SUMMARY_MAX_CHARS);
        }
        let n = cases.len() as f64;
        let category_accuracy = category_hits as f64 / n;
        let severity_accuracy = severity_hits as f64 / n;
        println!(
            "categories: {category_hits}/{} = {category_accuracy:.3}; severities: {severity_hits}/{} = {severity_accuracy:.3} (within one level: {near_severity}); right pick kept: {pick_kept}",
            cases.len(),
            cases.len()
        );

        let pairs = data.get("duplicates").arr();
        let text = |t: &Json| format!("{}\n{}", t.get("subject").str(), t.get("description").str());
        let server_text = |t: &Json| format!("{0}\n{0}\n{1}", t.get("subject").str(), t.get("description").str());
        let mut existing: Vec<String> = pairs.iter().map(|p| text(p.get("existing"))).collect();
        existing.sort();
        existing.dedup();
        let plain_docs: Vec<Vec<String>> = existing.iter().map(|t| terms(t)).collect();
        let plain_idf = idf_over(&plain_docs);
        let mut server_existing: Vec<String> = pairs.iter().map(|p| server_text(p.get("existing"))).collect();
        server_existing.sort();
        server_existing.dedup();
        let server_docs: Vec<Vec<String>> = server_existing
            .iter()
            .map(|t| terms(t).into_iter().collect::<HashSet<_>>().into_iter().collect())
            .collect();
        let server_idf = idf_over(&server_docs);
        let (mut min_true, mut max_false) = (f64::MAX, f64::MIN);
        let (mut min_true_server, mut max_false_server) = (f64::MAX, f64::MIN);
        for pair in pairs {
            let duplicate = pair.get("duplicate").bool();
            let plain = similarity(&terms(&text(pair.get("existing"))), &terms(&text(pair.get("new"))), &plain_idf);
            let stored: Vec<String> =
                terms(&server_text(pair.get("existing"))).into_iter().collect::<HashSet<_>>().into_iter().collect();
            let server = similarity(&terms(&server_text(pair.get("new"))), &stored, &server_idf);
            println!(
                "{} plain {plain:.3} server {server:.3}  {:?} vs {:?}",
                if duplicate { "DUP " } else { "MISS" },
                pair.get("existing").get("subject").str(),
                pair.get("new").get("subject").str()
            );
            if duplicate {
                min_true = min_true.min(plain);
                min_true_server = min_true_server.min(server);
            } else {
                max_false = max_false.max(plain);
                max_false_server = max_false_server.max(server);
            }
        }
        println!("plain: lowest duplicate {min_true:.3}, highest non-duplicate {max_false:.3}");
        println!("server: lowest duplicate {min_true_server:.3}, highest non-duplicate {max_false_server:.3}");
        // Background: every new text against every stored text that is not its pair.
        let mut background: Vec<f64> = Vec::new();
        for (i, pair) in pairs.iter().enumerate() {
            let query = terms(&server_text(pair.get("new")));
            for (j, other) in pairs.iter().enumerate() {
                let same = server_text(other.get("existing")) == server_text(pair.get("existing"));
                if i == j || same {
                    continue;
                }
                let stored: Vec<String> = terms(&server_text(other.get("existing")))
                    .into_iter()
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                background.push(similarity(&query, &stored, &server_idf));
            }
        }
        background.sort_by(f64::total_cmp);
        let share_above =
            |t: f64| background.iter().filter(|s| **s >= t).count() as f64 / background.len().max(1) as f64;
        println!(
            "server background ({} unrelated pairs): max {:.3}, p95 {:.3}, >=0.30: {:.1}%",
            background.len(),
            background.last().copied().unwrap_or(0.0),
            background.get(background.len() * 95 / 100).copied().unwrap_or(0.0),
            100.0 * share_above(0.30)
        );

        assert!(category_accuracy >= 0.85, "category accuracy {category_accuracy}");
        assert!(pick_kept as f64 >= 0.95 * n, "a right pick was overridden too often: {pick_kept}");
        assert!(severity_accuracy >= 0.75, "severity accuracy {severity_accuracy}");
        assert!(min_true > max_false, "duplicates and near misses overlap (plain)");
        assert!(min_true_server > max_false_server, "duplicates and near misses overlap (server)");
    }
}
