//! Reading command outputs: small hand-written parsers for `df`, `free`, `kubectl get pods`,
//! `docker ps`, `ss`, `getent`, `curl -w '%{http_code}'`, `nproc` and `uptime`, plus line rules
//! for kernel, service and application errors. Each rule yields a [`Finding`] that quotes the
//! lines it rests on and says what to do next.

use chrono::{DateTime, NaiveDateTime, Utc};
use opsdesk_app::model::ExecutedCommand;
use std::net::IpAddr;

/// Filesystem usage (bytes or inodes) at or above this percentage counts as full.
const FULL_PERCENT: u32 = 90;
/// Memory counts as under pressure when less than 1/this of it is available.
const LOW_MEMORY_FRACTION: u64 = 10;
/// Certificates expiring within this many days are flagged.
const CERT_WARNING_DAYS: i64 = 14;
/// A running pod restarted at least this often is crash-looping between restarts.
const MANY_RESTARTS: u32 = 5;
/// How much evidence one finding quotes.
const MAX_EVIDENCE_LINES: usize = 3;
const MAX_EVIDENCE_CHARS: usize = 240;
/// Lines the transport writes for commands that never ran; they say nothing about the host.
const NOT_RUN_MARKER: &str = "[not run:";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingKind {
    DiskFull,
    InodesFull,
    NoSpaceLeft,
    MemoryPressure,
    OomKill,
    CrashLoop,
    PodOomKilled,
    ImagePull,
    PodPending,
    ContainerFailing,
    ConnectionRefused,
    NotListening,
    HttpError,
    DnsFailure,
    CertExpired,
    CertExpiringSoon,
    HighLoad,
    FailedUnit,
    PermissionDenied,
}

/// One problem the outputs show.
#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: FindingKind,
    /// What it is about: a mount, pod, container, unit, host, port or process ("" if unknown).
    pub subject: String,
    /// For pods: the namespace the output named.
    pub namespace: Option<String>,
    /// One line: what is wrong.
    pub summary: String,
    /// The output lines it rests on, quoted as they were.
    pub evidence: Vec<String>,
    /// What to do about it.
    pub next_step: String,
}

/// What some rules need besides the outputs.
pub struct Context<'a> {
    /// Certificates are judged against this, so tests can fix it.
    pub now: DateTime<Utc>,
    /// Ports the problem mentions: `ss` output without a listener on one is a finding.
    pub expected_ports: &'a [u16],
}

/// Every finding the outputs support, in the order the evidence appeared.
pub fn analyse(outputs: &[ExecutedCommand], context: &Context) -> Vec<Finding> {
    let mut found = Found::default();
    let mut load: Option<(String, f64)> = None;
    let mut cores: Option<u32> = None;
    for ran in outputs.iter().filter(|r| !r.output.trim_start().starts_with(NOT_RUN_MARKER)) {
        let words: Vec<&str> = ran.command.split_whitespace().filter(|w| *w != "sudo").collect();
        let out = ran.output.as_str();
        match words.first().copied() {
            Some("df") => filesystems(out, &mut found),
            Some("free") => memory(out, &mut found),
            Some("kubectl") if words.get(1..3) == Some(&["get", "pods"][..]) => {
                pods(out, flag_value(&words, &["-n", "--namespace"]), &mut found)
            }
            Some("docker") if words.get(1) == Some(&"ps") => containers(out, &mut found),
            Some("ss") | Some("netstat") => listeners(&ran.command, out, context.expected_ports, &mut found),
            Some("getent") => name_lookup(&words, out, &mut found),
            Some("curl") if ran.command.contains("http_code") => http_status(&words, out, &mut found),
            Some("nproc") => cores = out.split_whitespace().next().and_then(|n| n.parse().ok()),
            _ => {}
        }
        line_rules(&words, out, context.now, &mut found, &mut load);
    }
    if let (Some((line, one_minute)), Some(cores)) = (load, cores) {
        if one_minute > f64::from(cores) {
            let summary = format!("High load: 1-minute load average {one_minute:.2} on {cores} CPU core(s)");
            found.add(FindingKind::HighLoad, "", None, summary, &format!("{line}\nnproc: {cores}"));
        }
    }
    found.0
}

/// Findings so far, one per (kind, subject); repeated evidence is merged into it.
#[derive(Default)]
struct Found(Vec<Finding>);

impl Found {
    fn add(&mut self, kind: FindingKind, subject: &str, namespace: Option<&str>, summary: String, evidence: &str) {
        let evidence = clip(evidence);
        if let Some(known) = self.0.iter_mut().find(|f| f.kind == kind && f.subject == subject) {
            if known.evidence.len() < MAX_EVIDENCE_LINES && !known.evidence.contains(&evidence) {
                known.evidence.push(evidence);
            }
            return;
        }
        self.0.push(Finding {
            kind,
            subject: subject.to_owned(),
            namespace: namespace.map(str::to_owned),
            summary,
            evidence: vec![evidence],
            next_step: next_step(kind, subject),
        });
    }
}

/// The advice for each kind of finding, in one place.
fn next_step(kind: FindingKind, subject: &str) -> String {
    use FindingKind::*;
    match kind {
        DiskFull => {
            format!("Find what grew on `{subject}` (logs, journal, images, dumps); free space or grow the volume.")
        }
        InodesFull => {
            format!("Find the directory on `{subject}` with the most small files (caches, sessions) and clean it.")
        }
        NoSpaceLeft => "A write failed for lack of space: find the full filesystem with `df -h` and `df -i`.".into(),
        MemoryPressure => "See which processes hold the memory; add memory or cap the largest consumer.".into(),
        OomKill => format!("Find why `{subject}` grew (leak, heap size, load), then give it more memory or cap it."),
        CrashLoop => format!(
            "Read the logs of the crashed container of `{subject}`: its last lines usually name the cause \
             (bad config, missing secret, unreachable dependency)."
        ),
        PodOomKilled => {
            format!("Raise `resources.limits.memory` of `{subject}` or lower its memory use (heap, caches).")
        }
        ImagePull => "Check the image name and tag and the registry credentials (`imagePullSecrets`).".into(),
        PodPending => {
            format!("Read the events of `{subject}`: not enough CPU or memory, an unbound volume, or taints.")
        }
        ContainerFailing => format!("Read the last log lines of `{subject}`, its exit code and OOM flag."),
        ConnectionRefused => {
            format!("Check that the service behind `{subject}` runs and listens on that address and port.")
        }
        NotListening => format!("The service for port {subject} is down, failed at start, or listens elsewhere."),
        HttpError => "The server's logs (or the upstream's, behind a proxy) show the failing requests.".into(),
        DnsFailure => {
            "Check the nameservers in `/etc/resolv.conf` and that the record exists (typo, missing record).".into()
        }
        CertExpired => {
            format!("Renew the certificate of `{subject}` (e.g. `certbot renew`), reload the server, fix auto-renewal.")
        }
        CertExpiringSoon => {
            format!("Renew the certificate of `{subject}` soon and check that automatic renewal works.")
        }
        HighLoad => "Find the processes using CPU, or waiting on disk I/O (high `wa` in `top` or `vmstat`).".into(),
        FailedUnit => {
            format!("Read the status and journal of `{subject}` to see why it failed; fix that, then start it.")
        }
        PermissionDenied => "Check the file's owner and mode, the user the process runs as, SELinux/AppArmor.".into(),
    }
}

/// `df -h` and `df -i`: any real filesystem at or above [`FULL_PERCENT`].
fn filesystems(out: &str, found: &mut Found) {
    let mut lines = out.lines();
    let Some(header) = lines.by_ref().find(|l| l.contains("Use%") || l.contains("Capacity")) else { return };
    let inodes = header.contains("IUse%");
    let Some(column) = header.split_whitespace().position(|h| h.ends_with("Use%") || h == "Capacity") else { return };
    let mut wrapped = String::new();
    for line in lines {
        // A long device name makes df wrap the row onto two lines.
        let row = format!("{wrapped} {line}");
        let fields: Vec<&str> = row.split_whitespace().collect();
        if fields.len() == 1 {
            wrapped = fields[0].to_owned();
            continue;
        }
        wrapped.clear();
        let (Some(device), Some(percent)) = (fields.first(), fields.get(column)) else { continue };
        let Ok(percent) = percent.trim_end_matches('%').parse::<u32>() else { continue };
        let mount = fields[column + 1..].join(" ");
        // Snap and other read-only images are always 100% full by design.
        if percent < FULL_PERCENT || device.starts_with("/dev/loop") || mount.starts_with("/snap") {
            continue;
        }
        let (kind, what) = if inodes { (FindingKind::InodesFull, "inodes") } else { (FindingKind::DiskFull, "space") };
        let summary = format!("Filesystem `{mount}` has used {percent}% of its {what}");
        found.add(kind, &mount, None, summary, row.trim());
    }
}

/// `free -m`: little available memory, or swap mostly used.
fn memory(out: &str, found: &mut Found) {
    for line in out.lines() {
        let fields: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
        if line.starts_with("Mem:") && fields.len() >= 3 {
            let (total, available) = (fields[0], *fields.get(5).unwrap_or(&fields[2]));
            if available * LOW_MEMORY_FRACTION < total {
                let summary = format!("Memory is nearly exhausted: {available} of {total} available");
                found.add(FindingKind::MemoryPressure, "memory", None, summary, line);
            }
        } else if line.starts_with("Swap:") && fields.len() >= 2 && fields[0] > 0 && fields[1] * 2 >= fields[0] {
            let summary = format!("Swap is heavily used: {} of {}", fields[1], fields[0]);
            found.add(FindingKind::MemoryPressure, "swap", None, summary, line);
        }
    }
}

/// `kubectl get pods` (with or without a NAMESPACE column).
fn pods(out: &str, namespace_flag: Option<&str>, found: &mut Found) {
    let mut lines = out.lines();
    let Some(header) = lines.by_ref().find(|l| l.starts_with("NAME") || l.starts_with("NAMESPACE")) else { return };
    let name_column = usize::from(header.starts_with("NAMESPACE"));
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < name_column + 4 {
            continue;
        }
        let pod = fields[name_column];
        let status = fields[name_column + 2];
        let restarts: u32 = fields[name_column + 3].parse().unwrap_or(0);
        let namespace = if name_column == 1 { Some(fields[0]) } else { namespace_flag };
        let (kind, summary) = if status.contains("CrashLoopBackOff") || (status == "Error" && restarts > 0) {
            (FindingKind::CrashLoop, format!("Pod `{pod}` is crash-looping ({status}, {restarts} restarts)"))
        } else if status.contains("ImagePull") || status == "InvalidImageName" {
            (FindingKind::ImagePull, format!("Pod `{pod}` cannot pull its image ({status})"))
        } else if status == "OOMKilled" {
            (FindingKind::PodOomKilled, format!("Pod `{pod}` was killed for exceeding its memory limit"))
        } else if status == "Pending" {
            (FindingKind::PodPending, format!("Pod `{pod}` is stuck in Pending"))
        } else if restarts >= MANY_RESTARTS {
            (FindingKind::CrashLoop, format!("Pod `{pod}` keeps restarting ({restarts} restarts, now {status})"))
        } else {
            continue;
        };
        found.add(kind, pod, namespace, summary, line);
    }
}

/// `docker ps -a`: containers restarting or exited with an error.
fn containers(out: &str, found: &mut Found) {
    for line in out.lines().filter(|l| !l.starts_with("CONTAINER ID")) {
        let Some(name) = line.split_whitespace().last() else { continue };
        let summary = if line.contains("Restarting (") {
            format!("Container `{name}` keeps restarting")
        } else if let Some(code) = between(line, "Exited (", ")").and_then(|c| c.parse::<i32>().ok()) {
            match code {
                0 => continue,
                137 => format!("Container `{name}` was killed (exit 137: SIGKILL, often the OOM killer)"),
                _ => format!("Container `{name}` exited with code {code}"),
            }
        } else {
            continue;
        };
        found.add(FindingKind::ContainerFailing, name, None, summary, line);
    }
}

/// `ss -tlnp` / `netstat -tlnp`: a port the problem mentions has no listener.
fn listeners(command: &str, out: &str, expected: &[u16], found: &mut Found) {
    let mut listening: Vec<u16> = out
        .lines()
        .filter(|l| l.contains("LISTEN"))
        .filter_map(|l| l.split_whitespace().find_map(|f| f.rsplit_once(':').and_then(|(_, p)| p.parse().ok())))
        .collect();
    if out.trim().is_empty() {
        return;
    }
    listening.sort_unstable();
    listening.dedup();
    for port in expected.iter().filter(|p| !listening.contains(p)) {
        let ports: Vec<String> = listening.iter().map(u16::to_string).collect();
        let evidence = format!("`{command}` lists listeners only on: {}", ports.join(", "));
        let summary = format!("Nothing is listening on port {port}");
        found.add(FindingKind::NotListening, &port.to_string(), None, summary, &evidence);
    }
}

/// `getent hosts NAME`: no address line means the name does not resolve.
fn name_lookup(words: &[&str], out: &str, found: &mut Found) {
    let Some(name) = words.iter().skip(2).find(|w| !w.starts_with('-')) else { return };
    let resolved = out.lines().any(|l| l.split_whitespace().next().is_some_and(|a| a.parse::<IpAddr>().is_ok()));
    if !resolved {
        let summary = format!("`{name}` does not resolve to any address");
        found.add(FindingKind::DnsFailure, name, None, summary, &format!("`{}` returned no address", words.join(" ")));
    }
}

/// `curl -w '%{http_code}'`: a 5xx answer.
fn http_status(words: &[&str], out: &str, found: &mut Found) {
    let code = out.split_whitespace().find_map(|w| {
        let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
        (digits.len() == 3).then_some(digits)
    });
    let Some(code) = code.filter(|c| c.starts_with('5')) else { return };
    let url = words.iter().map(|w| w.trim_matches('\'')).find(|w| w.starts_with("http")).unwrap_or("the URL");
    let summary = format!("`{url}` answers HTTP {code}");
    found.add(FindingKind::HttpError, url, None, summary, &format!("HTTP status: {code}"));
}

/// Rules that apply to any output, line by line: kernel OOM kills, refused connections, DNS
/// and certificate errors, failed units, Kubernetes events, permission and space errors.
fn line_rules(words: &[&str], out: &str, now: DateTime<Utc>, found: &mut Found, load: &mut Option<(String, f64)>) {
    let pod = pod_in_command(words);
    let unit = words.iter().position(|w| *w == "status").and_then(|i| words.get(i + 1)).map(|u| unit_name(u));
    let cert_host = flag_value(words, &["-servername"])
        .or_else(|| words.iter().position(|w| w.ends_with("check-cert.sh")).and_then(|i| words.get(i + 1).copied()))
        .or_else(|| words.iter().find_map(|w| w.trim_matches('\'').strip_prefix("https://")?.split(['/', ':']).next()))
        .unwrap_or("the server");
    for line in out.lines() {
        // ASCII-only lowering keeps byte offsets valid for slicing `line`.
        let lower = line.to_ascii_lowercase();
        if lower.contains("killed process") || lower.contains("oom-kill:") {
            let process = between(line, "Killed process ", ")")
                .and_then(|p| p.split_once('(').map(|(_, name)| name))
                .or_else(|| between(line, "task=", ","))
                .unwrap_or("a process");
            let summary = format!("The kernel's OOM killer killed `{process}`");
            found.add(FindingKind::OomKill, process, None, summary, line);
        }
        if lower.contains("no space left on device") {
            found.add(FindingKind::NoSpaceLeft, "", None, "A write failed: \"No space left on device\"".into(), line);
        }
        if ["connection refused", "econnrefused", "couldn't connect to server"].iter().any(|e| lower.contains(e)) {
            let target = refused_target(line);
            let summary = format!("Connection refused by `{target}`");
            found.add(FindingKind::ConnectionRefused, &target, None, summary, line);
        }
        if let Some(host) = dns_error_host(line, &lower) {
            let summary =
                if host.is_empty() { "Name resolution fails".into() } else { format!("`{host}` does not resolve") };
            found.add(FindingKind::DnsFailure, &host, None, summary, line);
        }
        if lower.contains("permission denied") {
            let summary = "An operation was refused: \"Permission denied\"".to_owned();
            found.add(FindingKind::PermissionDenied, "", None, summary, line);
        }
        if let Some(date) = line.trim().strip_prefix("notAfter=") {
            certificate_expiry(cert_host, date, line, now, found);
        } else if lower.contains("certificate has expired") {
            let summary = format!("The certificate of `{cert_host}` has expired");
            found.add(FindingKind::CertExpired, cert_host, None, summary, line);
        }
        if let Some(averages) = lower.split_once("load average:").map(|(_, a)| a) {
            if let Some(one_minute) = averages.split(',').next().and_then(|a| a.trim().parse().ok()) {
                *load = Some((line.trim().to_owned(), one_minute));
            }
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = fields.windows(3).position(|w| w == ["loaded", "failed", "failed"]) {
            if let Some(name) = i.checked_sub(1).map(|u| unit_name(fields[u].trim_start_matches(['●', '*']))) {
                found.add(FindingKind::FailedUnit, &name, None, format!("Unit `{name}` has failed"), line);
            }
        }
        if lower.trim_start().starts_with("active: failed") {
            if let Some(name) = &unit {
                found.add(FindingKind::FailedUnit, name, None, format!("Unit `{name}` has failed"), line);
            }
        }
        // Events and describe output name the pod; `get pods` tables are parsed on their own.
        let subject = fields.iter().find_map(|f| f.strip_prefix("pod/")).or(pod.as_deref());
        if let Some(pod) = subject {
            if lower.contains("oomkilled") {
                let summary = format!("Pod `{pod}` was killed for exceeding its memory limit");
                found.add(FindingKind::PodOomKilled, pod, None, summary, line);
            }
            if lower.contains("back-off restarting failed container") {
                found.add(FindingKind::CrashLoop, pod, None, format!("Pod `{pod}` is crash-looping"), line);
            }
            if lower.contains("errimagepull") || lower.contains("failed to pull image") {
                found.add(FindingKind::ImagePull, pod, None, format!("Pod `{pod}` cannot pull its image"), line);
            }
        }
    }
}

/// Compares an openssl `notAfter=` date with now.
fn certificate_expiry(host: &str, date: &str, line: &str, now: DateTime<Utc>, found: &mut Found) {
    let date = date.split_whitespace().collect::<Vec<_>>().join(" ");
    let Ok(not_after) = NaiveDateTime::parse_from_str(&date, "%b %d %H:%M:%S %Y GMT") else { return };
    let days_left = (not_after.and_utc() - now).num_days();
    if not_after.and_utc() <= now {
        let summary = format!("The certificate of `{host}` expired {} day(s) ago", -days_left);
        found.add(FindingKind::CertExpired, host, None, summary, line);
    } else if days_left < CERT_WARNING_DAYS {
        let summary = format!("The certificate of `{host}` expires in {days_left} day(s)");
        found.add(FindingKind::CertExpiringSoon, host, None, summary, line);
    }
}

/// `host:port` (or just the line's address) a refused connection was aimed at.
fn refused_target(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    // curl: "Failed to connect to localhost port 8080 after 0 ms: Connection refused"
    if let Some(i) = lower.find("failed to connect to ") {
        let words: Vec<&str> = line[i + "failed to connect to ".len()..].split_whitespace().collect();
        if words.len() >= 3 && words[1] == "port" {
            return format!("{}:{}", words[0], words[2]);
        }
    }
    // Go, Node, Python: "dial tcp 10.0.0.5:5432: connect: connection refused", "ECONNREFUSED 127.0.0.1:6379"
    line.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .find(|w| is_host_port(w))
        .unwrap_or("the target")
        .to_owned()
}

/// The name a DNS error line is about ("" when it does not say), or None for other lines.
fn dns_error_host(line: &str, lower: &str) -> Option<String> {
    const ERRORS: [&str; 7] = [
        "could not resolve host",
        "temporary failure in name resolution",
        "name or service not known",
        "nxdomain",
        "servfail",
        "no such host",
        "server can't find",
    ];
    if !ERRORS.iter().any(|e| lower.contains(e)) {
        return None;
    }
    let after = |marker: &str| {
        lower
            .find(marker)
            .map(|i| line[i + marker.len()..].split_whitespace().next().unwrap_or("").trim_end_matches([':', ',']))
    };
    let host = after("could not resolve host: ").or_else(|| after("server can't find ")).or_else(|| after("lookup "));
    Some(host.unwrap_or("").to_owned())
}

/// The pod a `kubectl logs|describe` command is about.
fn pod_in_command(words: &[&str]) -> Option<String> {
    if words.first() != Some(&"kubectl") {
        return None;
    }
    let args: Vec<&str> = words.iter().skip(2).copied().filter(|w| !w.starts_with('-')).collect();
    let named = match words.get(1) {
        Some(&"logs") => args.first().copied(),
        Some(&"describe") if matches!(args.first(), Some(&"pod") | Some(&"pods")) => args.get(1).copied(),
        Some(&"describe") => args.first().and_then(|a| a.strip_prefix("pod/")),
        _ => None,
    };
    // The first non-flag word may be a flag's value (`-n ns`); pod names contain dashes.
    named.filter(|p| p.contains('-')).map(|p| p.trim_start_matches("pod/").to_owned())
}

/// `nginx.service` and `nginx` are the same unit.
fn unit_name(unit: &str) -> String {
    unit.strip_suffix(".service").unwrap_or(unit).to_owned()
}

/// The value after any of `flags` (`-n ns` or `--namespace=ns`).
fn flag_value<'a>(words: &[&'a str], flags: &[&str]) -> Option<&'a str> {
    words.iter().enumerate().find_map(|(i, w)| {
        flags.iter().find_map(|f| {
            if w == f {
                words.get(i + 1).copied()
            } else {
                w.strip_prefix(f).and_then(|v| v.strip_prefix('='))
            }
        })
    })
}

fn is_host_port(word: &str) -> bool {
    word.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && !host.contains(':')
            && host.chars().any(|c| c.is_ascii_alphabetic() || c == '.')
            && port.parse::<u16>().is_ok()
    })
}

/// The text between the first `start` and the following `end`.
fn between<'a>(line: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &line[line.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

fn clip(line: &str) -> String {
    let line = line.trim();
    match line.char_indices().nth(MAX_EVIDENCE_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}
