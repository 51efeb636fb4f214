//! What to run: the topics a problem text is about, the names it mentions, the read-only
//! playbook of each topic, the follow-ups each finding calls for, and the few remediations
//! that evidence can justify. Every command is built here, so the rules for which names may
//! reach a shell live in one place.

use super::findings::{Finding, FindingKind};
use super::HostFacts;
use opsdesk_app::model::{AgentFile, ExecutedCommand};
use std::net::IpAddr;

/// At most this many names of one sort (hosts, pods...) get commands of their own.
const MAX_NAMES: usize = 3;
/// Journals or reclaimable Docker data above this are worth freeing on a full disk.
const WORTH_FREEING_BYTES: f64 = 1024.0 * 1024.0 * 1024.0;

/// An area of trouble, each with its own playbook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    Disk,
    Memory,
    Service,
    Network,
    Dns,
    Certificate,
    Cpu,
    Containers,
    Kubernetes,
}

impl Topic {
    pub fn label(self) -> &'static str {
        match self {
            Topic::Disk => "disk space",
            Topic::Memory => "memory",
            Topic::Service => "services",
            Topic::Network => "network and connectivity",
            Topic::Dns => "DNS",
            Topic::Certificate => "TLS certificates",
            Topic::Cpu => "CPU and load",
            Topic::Containers => "Docker containers",
            Topic::Kubernetes => "Kubernetes",
        }
    }

    /// Symptoms shared by many causes: their playbooks come after the specific ones.
    fn is_broad(self) -> bool {
        matches!(self, Topic::Network | Topic::Service | Topic::Cpu)
    }

    /// Reference pages worth opening for this topic.
    #[rustfmt::skip]
    pub fn docs(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Topic::Disk => &[
                ("https://man7.org/linux/man-pages/man1/df.1.html", "df(1): filesystem space and inode usage"),
                ("https://man7.org/linux/man-pages/man1/du.1.html", "du(1): what uses the space"),
            ],
            Topic::Memory => &[
                ("https://man7.org/linux/man-pages/man1/free.1.html", "free(1): reading memory and swap figures"),
                ("https://docs.kernel.org/admin-guide/sysctl/vm.html", "Kernel vm settings: overcommit, OOM killer"),
            ],
            Topic::Service => &[
                ("https://www.freedesktop.org/software/systemd/man/latest/systemctl.html", "systemctl: unit status"),
                ("https://www.freedesktop.org/software/systemd/man/latest/journalctl.html", "journalctl: the journal"),
            ],
            Topic::Network => &[
                ("https://man7.org/linux/man-pages/man8/ss.8.html", "ss(8): which sockets listen"),
                ("https://curl.se/docs/manpage.html", "curl manual: -w, -m and error codes"),
            ],
            Topic::Dns => &[
                ("https://man7.org/linux/man-pages/man5/resolv.conf.5.html", "resolv.conf(5): resolver configuration"),
                ("https://man7.org/linux/man-pages/man1/getent.1.html", "getent(1): resolving names like applications"),
            ],
            Topic::Certificate => &[
                ("https://docs.openssl.org/master/man1/openssl-s_client/", "openssl s_client: a server's certificate"),
                ("https://eff-certbot.readthedocs.io/en/stable/using.html#renewing-certificates", "Certbot: renewing"),
            ],
            Topic::Cpu => &[
                ("https://man7.org/linux/man-pages/man1/uptime.1.html", "uptime(1): what load averages mean"),
                ("https://man7.org/linux/man-pages/man1/top.1.html", "top(1): CPU, I/O wait and per-process usage"),
            ],
            Topic::Containers => &[
                ("https://docs.docker.com/reference/cli/docker/container/logs/", "docker container logs"),
                ("https://docs.docker.com/reference/cli/docker/system/prune/", "docker system prune: what it removes"),
            ],
            Topic::Kubernetes => &[
                ("https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/", "Kubernetes: debugging pods"),
                ("https://kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/", "Running pods"),
            ],
        }
    }
}

/// Words that point at each topic, `|`-separated; `*` matches any ending.
#[rustfmt::skip]
const TOPIC_WORDS: [(Topic, &str); 9] = [
    (Topic::Disk, "disk*|space|inode*|df|du|storage|partition*|filesystem*|volume*"),
    (Topic::Memory, "memory|oom*|ram|swap*|killed"),
    (Topic::Service, "service*|systemd|systemctl|unit|daemon*|not running|won t start|fails to start|\
        failed to start|stopped|down|nginx|apache*|httpd|postgres*|mysql*|mariadb|redis*|sshd|haproxy|cron*"),
    (Topic::Network, "refused|connect*|reach*|unreachable|port|ports|timeout*|timed out|502|503|504|\
        bad gateway|listen*|network*|firewall*|url|endpoint*|api|website"),
    (Topic::Dns, "dns|resolv*|nxdomain|servfail|name or service not known|nslookup|dig|lookup"),
    (Topic::Certificate, "certificate*|cert|certs|certbot|ssl|tls|x509|expir*"),
    (Topic::Cpu, "cpu*|load|slow*|sluggish|hang*|hung|unresponsive|latency|freez*"),
    (Topic::Containers, "docker*|container*|compose"),
    (Topic::Kubernetes, "pod|pods|kubernetes|k8s|kubectl|deployment*|crashloop*|namespace*|imagepull*|\
        errimagepull|oomkilled|helm|eks|aks|gke"),
];

/// The area each kind of finding belongs to (for its playbook and reference pages).
pub fn topic_of(kind: FindingKind) -> Topic {
    use FindingKind::*;
    match kind {
        DiskFull | InodesFull | NoSpaceLeft => Topic::Disk,
        MemoryPressure | OomKill => Topic::Memory,
        CrashLoop | PodOomKilled | ImagePull | PodPending => Topic::Kubernetes,
        ContainerFailing => Topic::Containers,
        ConnectionRefused | NotListening | HttpError => Topic::Network,
        DnsFailure => Topic::Dns,
        CertExpired | CertExpiringSoon => Topic::Certificate,
        HighLoad => Topic::Cpu,
        FailedUnit | PermissionDenied => Topic::Service,
    }
}

/// The topics a problem is about: specific ones before broad ones, each group in the order
/// the text first mentions them, then those its names imply (a unit, a pod, a URL).
pub fn topics_in(text: &str, names: &Names) -> Vec<Topic> {
    // Hosts, URLs and paths say nothing about the topic ("api.example.com" is no API problem).
    let words = text.split_whitespace().filter(|w| !w.trim_end_matches(['.', ',', ':']).contains(['.', '/']));
    let words: String = words.collect::<Vec<_>>().join(" ").to_lowercase();
    let words: String = words.chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let text = format!(" {} ", words.split_whitespace().collect::<Vec<_>>().join(" "));
    let first_mention = |keyword: &str| match keyword.trim().strip_suffix('*') {
        Some(stem) => text.find(&format!(" {stem}")),
        None => text.find(&format!(" {} ", keyword.trim())),
    };
    let mut found: Vec<(bool, usize, Topic)> = TOPIC_WORDS
        .iter()
        .filter_map(|&(topic, words)| {
            Some((topic.is_broad(), words.split('|').filter_map(first_mention).min()?, topic))
        })
        .collect();
    found.sort_by_key(|(broad, at, _)| (*broad, *at));
    let mut topics: Vec<Topic> = found.into_iter().map(|(_, _, topic)| topic).collect();
    let implied = [
        (!names.units.is_empty(), Topic::Service),
        (!names.pods.is_empty(), Topic::Kubernetes),
        (!names.containers.is_empty(), Topic::Containers),
        (!names.urls.is_empty(), Topic::Network),
    ];
    for (named, topic) in implied {
        if named && !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    topics
}

/// Names a problem text mentions, each checked safe to put in a command.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub urls: Vec<String>,
    pub hosts: Vec<String>,
    pub ports: Vec<u16>,
    pub units: Vec<String>,
    pub pods: Vec<String>,
    pub containers: Vec<String>,
    pub namespace: Option<String>,
}

/// Words that sit next to "pod", "service"... without being names.
const NOT_NAMES: &str = "a an the my our your their its this that these those every each one some any all is are \
    was keeps keep has have had same new old main web dns docker systemd kubernetes k8s running failing failed \
    crashing crashed broken dead stopped exited restarting default which what in of on for to from with and or but \
    where when since seems looks gets got crash crashes fail fails";
/// Well-known daemons and their systemd unit names.
const DAEMONS: &str = "nginx apache2 httpd postgres=postgresql postgresql mysql mariadb redis=redis-server sshd \
    haproxy cron php-fpm memcached";
/// Name endings that mark a file, not a host.
const FILE_ENDINGS: &str = "service socket timer mount log txt conf cfg yaml yml json xml sh py js ts rs go java \
    jar tar gz zip pem crt key csr ini env md html php rb sql db lock pid sock toml";

impl Names {
    /// Reads names from free text: URLs, `host:port`, domain names, `port N`, units
    /// (`nginx.service`, "the X service", known daemons), pods and containers ("pod X",
    /// "the X container") and namespaces ("namespace X", "-n X").
    pub fn in_text(text: &str) -> Names {
        let mut names = Names::default();
        let words: Vec<&str> = text
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| "\"'`()[]{}<>,;!?".contains(c)).trim_end_matches(['.', ':']))
            .filter(|w| !w.is_empty())
            .collect();
        for (i, &word) in words.iter().enumerate() {
            let lower = word.to_ascii_lowercase();
            let next = words.get(i + 1).copied().unwrap_or("");
            let next_lower = next.to_ascii_lowercase();
            let previous = i.checked_sub(1).map_or("", |p| words[p]);
            if lower.starts_with("http://") || lower.starts_with("https://") {
                names.add_url(word);
                continue;
            }
            if let Some(unit) = lower.strip_suffix(".service").filter(|u| is_name(u)) {
                push_unique(&mut names.units, unit);
            } else if let Some(unit) = daemon_unit(&lower) {
                push_unique(&mut names.units, unit);
            } else if let Some((host, port)) = split_host_port(word) {
                names.ports.push(port);
                if is_domain(host) {
                    push_unique(&mut names.hosts, host);
                }
            } else if is_domain(word) {
                push_unique(&mut names.hosts, &lower);
            }
            match lower.as_str() {
                "port" => names.ports.extend(next.parse::<u16>().ok()),
                "pod" | "pods" if is_pod(next) => push_unique(&mut names.pods, next),
                "container" if is_pod(next) => push_unique(&mut names.containers, next),
                "namespace" | "-n" | "--namespace" if is_name(next) => names.namespace = Some(next.to_owned()),
                "service" | "unit" | "daemon" if is_name(previous) => push_unique(&mut names.units, previous),
                _ => {}
            }
            match next_lower.as_str() {
                "pod" if is_pod(word) => push_unique(&mut names.pods, word),
                "container" if is_name(word) => push_unique(&mut names.containers, word),
                "namespace" if is_name(word) => names.namespace = Some(word.to_owned()),
                _ => {}
            }
        }
        names.ports.sort_unstable();
        names.ports.dedup();
        names
    }

    fn add_url(&mut self, url: &str) {
        if !url.chars().all(|c| c.is_ascii_graphic() && c != '\'' && c != '\\') {
            return;
        }
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        match split_host_port(authority) {
            Some((host, port)) => {
                self.ports.push(port);
                if is_domain(host) {
                    push_unique(&mut self.hosts, host);
                }
            }
            None if is_domain(authority) => push_unique(&mut self.hosts, authority),
            None => {}
        }
        push_unique(&mut self.urls, url);
    }

    /// Hosts whose certificate is worth checking: those of https URLs first.
    fn tls_hosts(&self) -> Vec<&str> {
        let mut hosts: Vec<&str> = self.hosts.iter().map(String::as_str).collect();
        hosts.sort_by_key(|h| !self.urls.iter().any(|u| u.starts_with(&format!("https://{h}"))));
        hosts
    }
}

/// Whether a whitespace-separated word list holds `word`.
pub fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

/// The systemd unit of a well-known daemon (`postgres` runs as `postgresql`).
fn daemon_unit(word: &str) -> Option<&'static str> {
    DAEMONS.split_whitespace().find_map(|entry| match entry.split_once('=') {
        Some((daemon, unit)) => (daemon == word).then_some(unit),
        None => (entry == word).then_some(entry),
    })
}

fn push_unique(list: &mut Vec<String>, name: &str) {
    if list.len() < MAX_NAMES && !list.iter().any(|n| n == name) {
        list.push(name.to_owned());
    }
}

/// Safe in a shell word without quoting, and not a common word.
pub fn is_name(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= 253
        && !word.starts_with('-')
        && word.chars().any(|c| c.is_ascii_alphabetic())
        && word.chars().all(|c| c.is_ascii_alphanumeric() || "._-:@/".contains(c))
        && !listed(NOT_NAMES, &word.to_ascii_lowercase())
}

/// An absolute path made of plain characters (mount points).
fn is_path(word: &str) -> bool {
    word.starts_with('/') && word.len() <= 4096 && word.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
}

/// Pod (and generated container) names carry dashes; that tells them from plain words.
fn is_pod(word: &str) -> bool {
    is_name(word) && word.contains('-')
}

fn is_domain(word: &str) -> bool {
    let word = word.to_ascii_lowercase();
    let labels: Vec<&str> = word.split('.').collect();
    labels.len() >= 2
        && word.len() <= 253
        && labels
            .iter()
            .all(|l| !l.is_empty() && !l.starts_with('-') && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
        && !labels.last().is_some_and(|ending| listed(FILE_ENDINGS, ending))
}

fn split_host_port(word: &str) -> Option<(&str, u16)> {
    let (host, port) = word.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    (host == "localhost" || host.parse::<IpAddr>().is_ok() || is_domain(host)).then_some((host, port))
}

/// A command the agent may propose.
#[derive(Clone, Debug)]
pub struct Proposal {
    pub command: String,
    /// What its output will tell (one line for the answer).
    pub purpose: String,
    /// Whether it changes the host (a remediation); offered only on evidence and when allowed.
    pub change: bool,
    pub files: Vec<AgentFile>,
}

fn check(command: impl Into<String>, purpose: impl Into<String>) -> Proposal {
    Proposal { command: command.into(), purpose: purpose.into(), change: false, files: Vec::new() }
}

fn change(command: impl Into<String>, purpose: impl Into<String>) -> Proposal {
    Proposal { change: true, ..check(command, purpose) }
}

/// What commands may use: the host's tools, the problem's names, the namespace.
pub struct Env<'a> {
    pub facts: &'a HostFacts,
    pub names: &'a Names,
    pub namespace: Option<String>,
}

impl Env<'_> {
    /// `-n ns`, or every namespace when none is known.
    fn namespace_scope(&self) -> String {
        self.namespace.as_ref().map_or_else(|| "-A".to_owned(), |ns| format!("-n {ns}"))
    }

    /// ` -n ns` for commands about one pod (its own namespace when the output named one).
    fn pod_namespace(&self, own: Option<&str>) -> String {
        own.filter(|ns| is_name(ns)).or(self.namespace.as_deref()).map(|ns| format!(" -n {ns}")).unwrap_or_default()
    }
}

/// The read-only diagnostics of a topic, most telling first.
pub fn playbook(topic: Topic, env: &Env) -> Vec<Proposal> {
    let (facts, names) = (env.facts, env.names);
    let mut plan = Vec::new();
    match topic {
        Topic::Disk => {
            plan.push(check("df -h", "space used on every filesystem; 90% or more is trouble"));
            plan.push(check("df -i", "inode use: a disk is also full when it runs out of inodes"));
            plan.push(largest_directories("/var"));
            if facts.has_journalctl {
                plan.push(check("journalctl --disk-usage", "how much space the systemd journal takes"));
            }
            if facts.has_docker {
                plan.push(check(
                    "docker system df",
                    "space held by Docker images, containers and volumes, and how much is reclaimable",
                ));
            }
        }
        Topic::Memory => {
            plan.push(check("free -m", "total, used and available memory and swap, in MiB"));
            plan.push(check("ps aux --sort=-%mem | head -15", "the processes holding the most memory"));
            plan.extend(oom_log(facts));
        }
        Topic::Service => {
            if facts.has_systemctl {
                plan.push(check("systemctl --failed", "every unit systemd reports as failed"));
            }
            for unit in &names.units {
                plan.extend(unit_checks(unit, facts));
            }
        }
        Topic::Network => {
            plan.push(check("ss -tlnp", "which processes listen on which TCP ports"));
            for url in &names.urls {
                plan.push(http_probe(url));
            }
            for port in names.ports.iter().filter(|p| !names.urls.iter().any(|u| u.contains(&format!(":{p}")))) {
                plan.push(http_probe(&format!("http://localhost:{port}/")));
            }
        }
        Topic::Dns => {
            plan.push(check("cat /etc/resolv.conf", "the nameservers and search domains this host uses"));
            for host in &names.hosts {
                plan.push(check(
                    format!("getent hosts {host}"),
                    format!("whether `{host}` resolves the way applications resolve it"),
                ));
            }
        }
        Topic::Certificate => {
            for host in names.tls_hosts() {
                plan.push(certificate_dates(host));
            }
        }
        Topic::Cpu => {
            plan.push(check("uptime", "load averages over 1, 5 and 15 minutes"));
            plan.push(check("nproc", "the number of CPU cores, to judge the load against"));
            plan.push(check("top -b -n1 | head -20", "CPU use, I/O wait and the busiest processes right now"));
        }
        Topic::Containers if facts.has_docker => {
            plan.push(check("docker ps -a", "every container with its state, restarts and exit codes"));
            for name in &names.containers {
                plan.push(container_logs(name));
            }
        }
        Topic::Kubernetes if facts.has_kubectl => {
            let scope = env.namespace_scope();
            plan.push(check(format!("kubectl get pods {scope}"), "each pod's status and restart count"));
            plan.push(check(
                format!("kubectl get events {scope} --sort-by=.metadata.creationTimestamp"),
                "recent cluster events (scheduling, pulls, kills, back-offs), newest last",
            ));
            for pod in &names.pods {
                plan.extend(pod_checks(pod, None, env));
            }
        }
        Topic::Containers | Topic::Kubernetes => {}
    }
    plan
}

/// The general sweep for problems that point at no area: load, disk, memory, failed services.
pub fn health_sweep(facts: &HostFacts) -> Vec<Proposal> {
    let mut plan = vec![
        check("uptime", "how long the host has been up and its load averages"),
        check("df -h", "space used on every filesystem"),
        check("free -m", "memory and swap in use"),
    ];
    if facts.has_systemctl {
        plan.push(check("systemctl --failed", "units systemd reports as failed"));
    }
    plan.push(check("nproc", "the number of CPU cores, to judge the load against"));
    plan
}

/// Diagnostics a finding calls for, about its own subject.
pub fn follow_ups(finding: &Finding, env: &Env) -> Vec<Proposal> {
    use FindingKind::*;
    let facts = env.facts;
    let subject = finding.subject.as_str();
    let named = is_name(subject);
    let path = is_path(subject);
    match finding.kind {
        DiskFull if path => {
            let mut plan = vec![largest_directories(subject), large_files_script(subject)];
            if facts.has_journalctl {
                plan.push(check("journalctl --disk-usage", "how much of it the systemd journal takes"));
            }
            if facts.has_docker {
                plan.push(check("docker system df", "how much Docker could give back"));
            }
            plan
        }
        InodesFull if path => vec![check(
            format!("du --inodes -x --max-depth=2 {subject} 2>/dev/null | sort -rn | head -20"),
            format!("the directories on `{subject}` holding the most files"),
        )],
        NoSpaceLeft => vec![check("df -h", "which filesystem is full"), check("df -i", "whether inodes ran out")],
        MemoryPressure | OomKill => {
            let mut plan = vec![check("ps aux --sort=-%mem | head -15", "the processes holding the most memory now")];
            plan.extend(oom_log(facts));
            plan
        }
        CrashLoop | PodOomKilled | ImagePull | PodPending if facts.has_kubectl && is_pod(subject) => {
            let mut plan = pod_checks(subject, finding.namespace.as_deref(), env);
            if finding.kind == PodPending || finding.kind == ImagePull {
                plan.reverse(); // the events in `describe` explain these; the logs are empty
            }
            plan
        }
        ContainerFailing if facts.has_docker && named => vec![
            container_logs(subject),
            check(
                format!(
                    "docker inspect --format '{{{{.State.Status}}}} exit={{{{.State.ExitCode}}}} \
                     oom={{{{.State.OOMKilled}}}} error={{{{.State.Error}}}}' {subject}"
                ),
                format!("the state, exit code, OOM flag and last error of `{subject}`"),
            ),
        ],
        ConnectionRefused | NotListening => {
            let mut plan = vec![check("ss -tlnp", "which processes listen on which TCP ports")];
            if facts.has_systemctl {
                plan.push(check("systemctl --failed", "whether the service behind it has failed"));
            }
            if facts.has_docker {
                plan.push(check("docker ps -a", "whether the container behind it is down"));
            }
            plan
        }
        HttpError if facts.has_journalctl => {
            vec![check("journalctl -p err -n 50 --no-pager", "the latest errors logged on this host")]
        }
        DnsFailure => {
            let mut plan = vec![check("cat /etc/resolv.conf", "the nameservers this host asks")];
            if named {
                plan.push(check(format!("getent hosts {subject}"), format!("whether `{subject}` resolves here")));
            }
            plan
        }
        CertExpired | CertExpiringSoon if named => vec![certificate_script(subject)],
        HighLoad => vec![
            check("top -b -n1 | head -20", "the busiest processes and the I/O wait (`wa`)"),
            check("ps aux --sort=-%cpu | head -15", "the processes using the most CPU"),
            check("vmstat 1 5", "whether the load is CPU (`us`/`sy`) or waiting on disk (`wa`, `b`)"),
        ],
        FailedUnit if named => unit_checks(subject, facts),
        _ => Vec::new(),
    }
}

/// A change the evidence supports, if any: never offered without the diagnostic that
/// justifies it having run.
pub fn remediation(finding: &Finding, env: &Env, outputs: &[ExecutedCommand]) -> Option<Proposal> {
    use FindingKind::*;
    let output_of = |prefix: &str| outputs.iter().find(|o| o.command.starts_with(prefix)).map(|o| o.output.as_str());
    let subject = finding.subject.as_str();
    match finding.kind {
        DiskFull | NoSpaceLeft => {
            let journal = output_of("journalctl --disk-usage").and_then(journal_bytes).unwrap_or(0.0);
            let docker = output_of("docker system df").map(reclaimable_bytes).unwrap_or(0.0);
            if env.facts.has_journalctl && journal >= WORTH_FREEING_BYTES {
                Some(change(
                    "journalctl --vacuum-size=200M",
                    "shrinks the systemd journal to 200 MB (deletes its oldest archived logs)",
                ))
            } else if env.facts.has_docker && docker >= WORTH_FREEING_BYTES {
                Some(change(
                    "docker system prune -f",
                    "deletes stopped containers, unused networks, dangling images and build cache",
                ))
            } else {
                None
            }
        }
        CrashLoop if env.facts.has_kubectl => {
            let deployment = deployment_of(subject)?;
            let namespace = env.pod_namespace(finding.namespace.as_deref());
            output_of(&format!("kubectl logs {subject}"))?;
            Some(change(
                format!("kubectl rollout restart deployment/{deployment}{namespace}"),
                format!("replaces the pods of `{deployment}`; worth it once the cause in the logs is fixed"),
            ))
        }
        FailedUnit if env.facts.has_systemctl && is_name(subject) => {
            output_of(&format!("journalctl -u {subject}"))
                .or_else(|| output_of(&format!("systemctl status {subject}")))?;
            Some(change(
                format!("systemctl restart {subject}"),
                format!("starts `{subject}` again; check its status afterwards"),
            ))
        }
        ContainerFailing if env.facts.has_docker && is_name(subject) => {
            output_of(&format!("docker logs --tail 100 {subject}"))?;
            Some(change(
                format!("docker restart {subject}"),
                format!("restarts `{subject}`; it will fail again unless the cause in its logs is gone"),
            ))
        }
        _ => None,
    }
}

/// Rewrites a command to print less, for people who asked for shorter output.
pub fn concise(command: &str) -> String {
    let shortened =
        command.replace("--tail=100", "--tail=30").replace("--tail 100", "--tail 30").replace("-n 100", "-n 30");
    if shortened != command || ["| head", "| tail", "| grep", "--disk-usage"].iter().any(|m| command.contains(m)) {
        return shortened;
    }
    let verbose = ["kubectl", "docker ps", "docker logs", "journalctl", "systemctl", "ss -", "dmesg", "ps aux", "cat "];
    if !verbose.iter().any(|v| command.starts_with(v)) {
        return shortened;
    }
    let newest_last = ["events", "logs", "journalctl", "dmesg", "describe"].iter().any(|w| command.contains(w));
    format!("{command} | {} -20", if newest_last { "tail" } else { "head" })
}

fn largest_directories(path: &str) -> Proposal {
    check(
        format!("du -xh --max-depth=1 {path} 2>/dev/null | sort -rh | head -20"),
        format!("the largest directories directly under `{path}`, on that filesystem only"),
    )
}

fn oom_log(facts: &HostFacts) -> Vec<Proposal> {
    const PATTERN: &str = "grep -iE 'out of memory|oom-kill|killed process' | tail -20";
    let mut plan = vec![check(
        format!("dmesg -T 2>/dev/null | {PATTERN}"),
        "whether the kernel's OOM killer killed processes, and which",
    )];
    if facts.has_journalctl {
        plan.push(check(
            format!("journalctl -k --no-pager | {PATTERN}"),
            "the same OOM kills from the kernel journal (survives dmesg wrap-around)",
        ));
    }
    plan
}

fn unit_checks(unit: &str, facts: &HostFacts) -> Vec<Proposal> {
    let mut plan = Vec::new();
    if facts.has_systemctl {
        plan.push(check(
            format!("systemctl status {unit} --no-pager"),
            format!("whether `{unit}` runs, and its last log lines"),
        ));
    }
    if facts.has_journalctl {
        plan.push(check(
            format!("journalctl -u {unit} -n 100 --no-pager"),
            format!("the last 100 journal lines of `{unit}`"),
        ));
    }
    if !facts.has_systemctl {
        plan.push(check(format!("pgrep -af {unit}"), format!("whether a `{unit}` process runs")));
    }
    plan
}

fn http_probe(url: &str) -> Proposal {
    check(
        format!("curl -sS -m 5 -o /dev/null -w '%{{http_code}}\\n' '{url}'"),
        format!("whether `{url}` answers, and with which HTTP status (000 means no connection)"),
    )
}

fn certificate_dates(host: &str) -> Proposal {
    check(
        format!(
            "openssl s_client -connect {host}:443 -servername {host} </dev/null 2>/dev/null \
             | openssl x509 -noout -dates -subject"
        ),
        format!("the validity dates and subject of the certificate `{host}` serves"),
    )
}

fn container_logs(name: &str) -> Proposal {
    check(format!("docker logs --tail 100 {name}"), format!("the last 100 log lines of container `{name}`"))
}

fn pod_checks(pod: &str, namespace: Option<&str>, env: &Env) -> Vec<Proposal> {
    let ns = env.pod_namespace(namespace);
    vec![
        check(
            format!("kubectl logs {pod}{ns} --previous --tail=100"),
            format!("the last lines the crashed container of `{pod}` wrote before it exited"),
        ),
        check(
            format!("kubectl describe pod {pod}{ns}"),
            format!("the state, last termination reason and events of `{pod}`"),
        ),
    ]
}

fn large_files_script(path: &str) -> Proposal {
    const SCRIPT: &str = r#"#!/bin/sh
# Lists what takes space on one filesystem. Read-only.
# Usage: sh scripts/find-large-files.sh [mount-point]
target="${1:-/}"
echo "== Largest directories under $target (this filesystem only) =="
du -xh --max-depth=2 "$target" 2>/dev/null | sort -rh | head -20
echo
echo "== Files over 100 MB under $target (bytes, path) =="
find "$target" -xdev -type f -size +100M -printf '%s\t%p\n' 2>/dev/null | sort -rn | head -20
echo
echo "== Deleted files still held open (their space is not freed yet) =="
if command -v lsof >/dev/null 2>&1; then lsof -nP +L1 2>/dev/null | head -20; else echo "lsof is not installed"; fi
"#;
    let mut proposal = check(
        format!("sh scripts/find-large-files.sh {path}"),
        format!("the largest directories and files on `{path}`, and deleted files still holding space"),
    );
    proposal.files.push(AgentFile { file_path: "scripts/find-large-files.sh".into(), file_content: SCRIPT.into() });
    proposal
}

fn certificate_script(host: &str) -> Proposal {
    const SCRIPT: &str = r#"#!/bin/sh
# Shows the certificate a TLS server presents. Read-only.
# Usage: sh scripts/check-cert.sh host [port]
host="$1"
port="${2:-443}"
cert=$(openssl s_client -connect "$host:$port" -servername "$host" </dev/null 2>/dev/null | openssl x509 2>/dev/null)
if [ -z "$cert" ]; then echo "could not fetch a certificate from $host:$port"; exit 1; fi
printf '%s\n' "$cert" | openssl x509 -noout -dates -subject -issuer
printf '%s\n' "$cert" | openssl x509 -noout -ext subjectAltName 2>/dev/null
if printf '%s\n' "$cert" | openssl x509 -noout -checkend 1209600 >/dev/null; then
  echo "valid for at least 14 more days"
else
  echo "expires within 14 days, or has expired"
fi
"#;
    let mut proposal = check(
        format!("sh scripts/check-cert.sh {host}"),
        format!("issuer and names of `{host}`'s certificate, to see which CA or tool must renew it"),
    );
    proposal.files.push(AgentFile { file_path: "scripts/check-cert.sh".into(), file_content: SCRIPT.into() });
    proposal
}

/// `api-7d9f8b6c5-x2x9k` belongs to deployment `api`: Deployment pods end in a
/// pod-template hash and a 5-character suffix.
fn deployment_of(pod: &str) -> Option<String> {
    let parts: Vec<&str> = pod.split('-').collect();
    let (hash, suffix) = (parts.get(parts.len().checked_sub(2)?)?, parts.last()?);
    let generated = |s: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    (parts.len() >= 3 && generated(hash, 6..=10) && generated(suffix, 5..=5))
        .then(|| parts[..parts.len() - 2].join("-"))
}

/// "Archived and active journals take up 3.9G in the file system."
fn journal_bytes(output: &str) -> Option<f64> {
    let (_, rest) = output.split_once("take up ")?;
    parse_size(rest.split_whitespace().next()?)
}

/// The RECLAIMABLE column of `docker system df`, summed over images, containers and build cache.
fn reclaimable_bytes(output: &str) -> f64 {
    output
        .lines()
        .filter(|l| ["Images", "Containers", "Build Cache"].iter().any(|t| l.starts_with(t)))
        .filter_map(|l| l.split_whitespace().rev().find_map(parse_size))
        .sum()
}

/// `3.9G`, `512.5MB`, `1.2GiB` → bytes.
fn parse_size(text: &str) -> Option<f64> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let power = match unit.trim_end_matches("iB").trim_end_matches('B') {
        "" => 0,
        "K" | "k" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * 1024f64.powi(power))
}
