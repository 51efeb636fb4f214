//! The runbook agent's brain: a built-in agent that needs no network and no model.
//!
//! The protocol is stateless, so every turn re-reads the whole conversation: the problem
//! statement and later user messages, every command already proposed, approved, rejected
//! or run, and every output seen (the ones the caller just ran, and those people ran in
//! their own terminal). From that it
//! 1. analyses the outputs with hand-written rules ([`findings`]) and quotes the evidence,
//! 2. proposes the next few read-only diagnostics: follow-ups on what the findings name
//!    (that pod, that mount, that unit), then the playbooks of the problem's topics, then a
//!    general health sweep ([`playbooks`]); never a command seen before, never one the
//!    person's stated preferences rule out,
//! 3. offers a remediation only once the diagnostic that justifies it has run, labelled as
//!    a change,
//! 4. says honestly when it has run out of checks and asks for the detail it lacks.
//!
//! Running the approved commands is the caller's job (`mod.rs`); [`respond`] only reads.

#[path = "findings.rs"]
mod findings;
#[path = "playbooks.rs"]
mod playbooks;

use chrono::{DateTime, Utc};
use findings::{Context, Finding};
use opsdesk_app::model::{
    ExecutedCommand, MessageData, ProtocolCommand, ProtocolRole, SendMessageRequest, SendMessageResponse, UrlConfig,
    MAX_AGENT_COMMANDS, MAX_AGENT_CONTENT_CHARS, MAX_AGENT_FILES, MAX_AGENT_FILE_BYTES, MAX_AGENT_LINKS,
    MAX_COMMAND_CHARS,
};
use playbooks::{listed, Env, Names, Proposal, Topic};
use std::collections::HashSet;

/// What the host offers (the caller probes PATH and reads platform_context).
#[derive(Clone, Debug, Default)]
pub struct HostFacts {
    pub has_kubectl: bool,
    pub has_docker: bool,
    pub has_systemctl: bool,
    pub has_journalctl: bool,
    /// From platform_context `k8s_namespace`, if any.
    pub kube_namespace: Option<String>,
}

/// Diagnostics per turn: a few at a time, so each answer can build on the last outputs.
const DIAGNOSTICS_PER_TURN: usize = 3;
/// The general sweep is cheap and flat, so it goes out a little wider.
const SWEEP_PER_TURN: usize = 4;
/// For people who asked for less output.
const CONCISE_PER_TURN: usize = 2;
/// Changes are offered one at a time.
const REMEDIATIONS_PER_TURN: usize = 1;

/// Decides the answer to the request. `ran` are the approved commands the caller just ran
/// this turn (command + output, output already capped); they are echoed in the answer's
/// `data.executed_cmds` (seed: "Maintain State: include your executed commands in responses").
pub fn respond(request: &SendMessageRequest, ran: &[ExecutedCommand], facts: &HostFacts) -> SendMessageResponse {
    respond_at(request, ran, facts, Utc::now())
}

/// [`respond`] with the clock as a parameter (certificate expiry is judged against `now`).
pub fn respond_at(
    request: &SendMessageRequest,
    ran: &[ExecutedCommand],
    facts: &HostFacts,
    now: DateTime<Utc>,
) -> SendMessageResponse {
    let conversation = Conversation::read(request, ran);
    let preferences = Preferences::read(conversation.user_texts.iter().chain(&conversation.rejection_reasons));
    let problem = conversation.user_texts.join("\n");
    let names = Names::in_text(&problem);
    let namespace =
        names.namespace.clone().or_else(|| facts.kube_namespace.clone()).filter(|ns| playbooks::is_name(ns));
    let env = Env { facts, names: &names, namespace };
    let findings = findings::analyse(&conversation.outputs, &Context { now, expected_ports: &names.ports });

    // Topics the person named, then those the findings point at.
    let asked = playbooks::topics_in(&problem, &names);
    let mut topics = asked.clone();
    for topic in findings.iter().map(|f| playbooks::topic_of(f.kind)) {
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }

    let sweep = playbooks::health_sweep(facts);
    let mut candidates: Vec<Proposal> = findings.iter().flat_map(|f| playbooks::follow_ups(f, &env)).collect();
    if asked.is_empty() {
        candidates.extend(sweep.iter().cloned());
    }
    candidates.extend(topics.iter().flat_map(|t| playbooks::playbook(*t, &env)));
    candidates.extend(sweep); // the last resort before asking for more detail
    let remediations = findings.iter().filter_map(|f| playbooks::remediation(f, &env, &conversation.outputs)).collect();
    let limit = if preferences.concise {
        CONCISE_PER_TURN
    } else if asked.is_empty() {
        SWEEP_PER_TURN
    } else {
        DIAGNOSTICS_PER_TURN
    };
    let selection = Selection::choose(candidates, remediations, &conversation, &preferences, limit);

    let turn = Turn { conversation: &conversation, ran, facts, names: &names, asked: &asked, topics: &topics };
    let (content, reasoning) = turn.explain(&findings, &selection, &preferences);
    SendMessageResponse {
        role: Some(ProtocolRole::Assistant),
        content: clip_chars(content, MAX_AGENT_CONTENT_CHARS),
        data: MessageData {
            cmds: to_commands(selection.diagnostics.into_iter().chain(selection.remediations)),
            executed_cmds: ran.to_vec(),
            url_configs: turn.links(),
            files: Vec::new(),
        },
        thread_id: request.thread_id.clone(),
        reasoning: Some(reasoning),
    }
}

/// What the conversation so far says, gathered in one pass.
struct Conversation {
    /// Every non-empty user message, oldest first; the first states the problem.
    user_texts: Vec<String>,
    rejection_reasons: Vec<String>,
    /// Every command proposed, approved, rejected or run (normalised): never proposed again.
    seen: HashSet<String>,
    /// The latest output of each command run so far, in the order they ran.
    outputs: Vec<ExecutedCommand>,
    /// Links earlier answers already gave.
    linked: HashSet<String>,
}

impl Conversation {
    fn read(request: &SendMessageRequest, ran: &[ExecutedCommand]) -> Conversation {
        let mut conversation = Conversation {
            user_texts: Vec::new(),
            rejection_reasons: Vec::new(),
            seen: HashSet::new(),
            outputs: Vec::new(),
            linked: HashSet::new(),
        };
        for message in &request.messages {
            match message.role {
                ProtocolRole::User => {
                    if !message.content.trim().is_empty() {
                        conversation.user_texts.push(message.content.clone());
                    }
                    let reasons =
                        message.data.cmds.iter().filter(|c| !c.execute).filter_map(|c| c.rejection_reason.clone());
                    conversation.rejection_reasons.extend(reasons);
                }
                ProtocolRole::Assistant => {
                    conversation.linked.extend(message.data.url_configs.iter().map(|u| u.url.clone()))
                }
            }
            conversation.seen.extend(message.data.cmds.iter().map(|c| normalise(&c.command)));
            for executed in &message.data.executed_cmds {
                conversation.record(executed);
            }
        }
        for executed in ran {
            conversation.record(executed);
        }
        conversation
    }

    fn record(&mut self, executed: &ExecutedCommand) {
        let key = normalise(&executed.command);
        self.outputs.retain(|o| normalise(&o.command) != key);
        self.outputs.push(executed.clone());
        self.seen.insert(key);
    }
}

fn normalise(command: &str) -> String {
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the person said they want or do not want, from their messages and rejection reasons.
#[derive(Debug, Default, PartialEq)]
struct Preferences {
    /// Word sequences no command may contain, as stems (`["describ"]`, `["kubectl", "exec"]`),
    /// with the words as the person wrote them.
    banned: Vec<(Vec<String>, String)>,
    /// No remediation at all.
    read_only: bool,
    /// Shorter output: fewer commands, `| head`/`--tail` variants.
    concise: bool,
}

/// Words that introduce something unwanted ("no" only at the start of a clause).
const NEGATIONS: &str = "avoid without never skip don't dont no";
/// Words between a negation and its object ("don't *use any* sudo").
const FILLERS: &str = "use using run running any anything the a an more further those these such please commands \
    command cmds things stuff again for me to do try suggest suggesting propose proposing with of that it like want \
    need";
/// Objects of everyday negations that are not preferences ("I don't *know*", "no *idea*").
const NOT_PREFERENCES: &str = "get see know have think understand work find seem mind care be is idea \
    luck longer matter problem issue worries thanks way one doubt error errors output response answer clue sure access";
/// Verbs that turn "no X" into a statement about the past.
const STATEMENT_VERBS: &str = "was were has have had is are happened since recently";
/// Stems meaning "change the host": forbidding them means read-only.
const CHANGE_STEMS: &str = "chang modif writ delet remov remediat fix edit alter touch destruct mutat";
/// Programs whose subcommand the person may forbid together ("avoid kubectl exec").
const PROGRAMS: &str = "kubectl docker systemctl journalctl helm git apt service openssl";
const READ_ONLY_PHRASES: &str = "read-only only|read only only|only read-only|only read only|read-only commands|\
    read only commands|keep it read-only|keep it read only|stay read-only|read-only please|diagnostics only|\
    only diagnostics";
const CONCISE_PHRASES: &str = "too much output|too verbose|less output|shorter output|too noisy|keep it short|\
    less verbose|too many lines|output is too long";

impl Preferences {
    fn read<'a>(texts: impl Iterator<Item = &'a String>) -> Preferences {
        let mut preferences = Preferences::default();
        for text in texts {
            let lower = text.to_lowercase().replace('’', "'");
            preferences.read_only |= READ_ONLY_PHRASES.split('|').any(|p| lower.contains(p.trim()));
            preferences.concise |= CONCISE_PHRASES.split('|').any(|p| lower.contains(p.trim()));
            let raw: Vec<&str> = lower.split_whitespace().collect();
            let words: Vec<&str> =
                raw.iter().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')).collect();
            let ends_clause = |i: usize| raw[i].ends_with(|c: char| ".,;:!?".contains(c));
            for i in 0..words.len() {
                let object_at = match words[i] {
                    "do" if words.get(i + 1) == Some(&"not") => i + 2,
                    "no" if i > 0
                        && !ends_clause(i - 1)
                        && !["please", "and", "but", "so", "also", "just"].contains(&words[i - 1]) =>
                    {
                        continue
                    }
                    w if listed(NEGATIONS, w) => i + 1,
                    _ => continue,
                };
                preferences.add_refusal(&words, &raw, object_at);
            }
        }
        preferences
    }

    /// Reads the object of a negation starting at `at`, skipping fillers: one word, or a
    /// program and its subcommand.
    fn add_refusal(&mut self, words: &[&str], raw: &[&str], mut at: usize) {
        while at < words.len() && listed(FILLERS, words[at]) && !raw[at].ends_with(['.', ',', ';', '!', '?']) {
            at += 1;
        }
        let Some(&first) = words.get(at).filter(|w| !w.is_empty() && !listed(FILLERS, w)) else { return };
        if listed(NOT_PREFERENCES, first) {
            return;
        }
        // "no changes were made" reports a fact; it asks for nothing.
        if words.get(at + 1).is_some_and(|next| listed(STATEMENT_VERBS, next)) {
            return;
        }
        let mut phrase = vec![first];
        if listed(PROGRAMS, first) && !raw[at].ends_with(['.', ',', ';', '!', '?']) {
            phrase.extend(words.get(at + 1).filter(|w| !w.is_empty() && !listed(FILLERS, w)));
        }
        let stems: Vec<String> = phrase.iter().map(|w| stem(w)).collect();
        if CHANGE_STEMS.split_whitespace().any(|c| stems[0].starts_with(c)) {
            self.read_only = true;
        } else if !self.banned.iter().any(|(known, _)| *known == stems) {
            self.banned.push((stems, phrase.join(" ")));
        }
    }

    /// Whether the person ruled this proposal out.
    fn forbids(&self, proposal: &Proposal) -> bool {
        if proposal.change && self.read_only {
            return true;
        }
        let lower = proposal.command.to_lowercase();
        let tokens: Vec<&str> =
            lower.split(|c: char| c.is_whitespace() || "|;&()<>\"'".contains(c)).filter(|t| !t.is_empty()).collect();
        self.banned.iter().any(|(stems, _)| {
            tokens
                .windows(stems.len())
                .any(|window| window.iter().zip(stems).all(|(token, stem)| token.starts_with(stem.as_str())))
        })
    }

    fn describe(&self) -> Vec<String> {
        let mut said: Vec<String> =
            self.banned.iter().map(|(_, words)| format!("no commands with `{words}`")).collect();
        if self.read_only {
            said.push("read-only: no changes to the host".into());
        }
        if self.concise {
            said.push("shorter output (fewer commands, `head`/`tail` limits)".into());
        }
        said
    }
}

/// "restarts", "restarting" → "restart"; short words stay as they are.
fn stem(word: &str) -> String {
    let word = word.trim_matches('\'');
    if word.len() > 5 && word.ends_with("ing") {
        word[..word.len() - 3].to_owned()
    } else if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_owned()
    } else {
        word.to_owned()
    }
}

/// The commands chosen for this turn.
struct Selection {
    diagnostics: Vec<Proposal>,
    remediations: Vec<Proposal>,
    /// Candidates left out because they were proposed, run or rejected before.
    repeats: usize,
    /// Candidates left out because of the person's preferences.
    honoured: usize,
}

impl Selection {
    fn choose(
        candidates: Vec<Proposal>,
        remediations: Vec<Proposal>,
        conversation: &Conversation,
        preferences: &Preferences,
        limit: usize,
    ) -> Selection {
        let mut selection = Selection { diagnostics: Vec::new(), remediations: Vec::new(), repeats: 0, honoured: 0 };
        let mut considered = HashSet::new();
        for proposal in candidates.into_iter().chain(remediations) {
            let key = normalise(&proposal.command);
            if !considered.insert(key.clone()) {
                continue;
            }
            if conversation.seen.contains(&key) {
                selection.repeats += 1;
                continue;
            }
            if preferences.forbids(&proposal) {
                selection.honoured += 1;
                continue;
            }
            let proposal = if preferences.concise {
                Proposal { command: playbooks::concise(&proposal.command), ..proposal }
            } else {
                proposal
            };
            if conversation.seen.contains(&normalise(&proposal.command)) || proposal.command.len() > MAX_COMMAND_CHARS {
                continue;
            }
            let (chosen, room) = if proposal.change {
                (&mut selection.remediations, REMEDIATIONS_PER_TURN)
            } else {
                (&mut selection.diagnostics, limit)
            };
            if chosen.len() < room {
                chosen.push(proposal);
            }
        }
        selection
    }
}

/// Turns proposals into protocol commands within the protocol's limits.
fn to_commands(proposals: impl Iterator<Item = Proposal>) -> Vec<ProtocolCommand> {
    let mut files = 0;
    proposals
        .take(MAX_AGENT_COMMANDS)
        .filter(|p| p.files.iter().all(|f| f.file_content.len() <= MAX_AGENT_FILE_BYTES))
        .filter(|p| {
            files += p.files.len();
            files <= MAX_AGENT_FILES
        })
        .map(|p| ProtocolCommand {
            command: p.command,
            execute: false,
            files: p.files,
            rejection_reason: None,
            explanation: None,
            risk: None,
        })
        .collect()
}

/// Everything the explanation draws on.
struct Turn<'a> {
    conversation: &'a Conversation,
    ran: &'a [ExecutedCommand],
    facts: &'a HostFacts,
    names: &'a Names,
    /// Topics the person's messages name.
    asked: &'a [Topic],
    /// Those plus the ones findings point at.
    topics: &'a [Topic],
}

impl Turn<'_> {
    /// The answer's markdown `content` and its step-by-step `reasoning`.
    fn explain(&self, findings: &[Finding], selection: &Selection, preferences: &Preferences) -> (String, String) {
        let analysed = self.conversation.outputs.len();
        let labels = |topics: &[Topic]| topics.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ");
        let mut text = match self.ran.len() {
            0 => String::new(),
            n => format!("I ran the {n} command(s) you approved. "),
        };
        text.push_str(&match (analysed, findings.len()) {
            (0, _) if self.asked.is_empty() => "Your description doesn't point at one area yet, so I'll start \
                with a general health sweep: load, disk space, memory and failed services."
                .to_owned(),
            (0, _) => {
                format!("This looks like a problem with {}. I'll start with read-only checks.", labels(self.asked))
            }
            (n, 0) => format!("Reading all {n} output(s) so far, I found nothing abnormal."),
            (n, k) => format!("Reading all {n} output(s) so far, I found {k} problem(s)."),
        });
        text.push('\n');

        if !findings.is_empty() {
            text.push_str("\n### What I found\n");
            for (n, finding) in findings.iter().enumerate() {
                let evidence = finding.evidence.join("\n");
                text.push_str(&format!(
                    "\n**{}. {}**\n\n```text\n{evidence}\n```\n\nNext step: {}\n",
                    n + 1,
                    finding.summary,
                    finding.next_step
                ));
            }
        }
        if !selection.diagnostics.is_empty() {
            text.push_str("\n### Next checks (read-only)\n\n");
            for p in &selection.diagnostics {
                text.push_str(&format!("- `{}`: {}\n", p.command, p.purpose));
            }
        }
        if !selection.remediations.is_empty() {
            text.push_str(
                "\n### Proposed change (changes the host; approve only if the evidence above convinces you)\n\n",
            );
            for p in &selection.remediations {
                text.push_str(&format!("- **Change:** `{}`: {}\n", p.command, p.purpose));
            }
        }
        for note in self.notes() {
            text.push_str(&format!("\n{note}\n"));
        }
        let honoured = preferences.describe();
        if !honoured.is_empty() {
            text.push_str(&format!("\nHonouring your preferences: {}.\n", honoured.join("; ")));
        }
        text.push('\n');
        let nothing_left = selection.diagnostics.is_empty() && selection.remediations.is_empty();
        text.push_str(match (nothing_left, findings.is_empty()) {
            (false, _) => "Approve the commands you are comfortable with; I'll analyse their output next.",
            (true, true) => {
                "I have no further checks for this problem, and none of the outputs so far explains it. \
                 Rather than guess, I need more detail:\n\n\
                 - What changed just before it started (deploy, configuration, package update, traffic)?\n\
                 - The exact error message or log line, and where you see it.\n\
                 - Which host, service, URL, container or pod is affected, and since when?"
            }
            (true, false) => {
                "I have no further checks to propose. The findings above are the best explanation so far: \
                 follow their next steps, and tell me what you see (or the exact error) if the problem remains."
            }
        });

        let found: Vec<&str> = findings.iter().map(|f| f.summary.as_str()).collect();
        let reasoning = [
            if self.asked.is_empty() {
                "1. Your messages name no specific area, so the general health sweep comes first.".to_owned()
            } else {
                format!("1. Areas in your messages: {}.", labels(self.asked))
            },
            match (analysed, found.is_empty()) {
                (0, _) => "2. No command output yet.".to_owned(),
                (_, true) => format!("2. Analysed {analysed} output(s): no finding."),
                (_, false) => format!("2. Analysed {analysed} output(s): {}.", found.join("; ")),
            },
            format!(
                "3. Follow-ups on the findings first, then the playbooks for {}, then the health sweep; \
                 {} already proposed, run or rejected, {} left out for your preferences.",
                if self.topics.is_empty() { "no topic".to_owned() } else { labels(self.topics) },
                selection.repeats,
                selection.honoured,
            ),
            format!(
                "4. Proposing {} read-only check(s) and {} change(s); a change only where a finding \
                 and the check behind it support it.",
                selection.diagnostics.len(),
                selection.remediations.len(),
            ),
        ];
        (text, reasoning.join("\n"))
    }

    /// What the agent cannot do here, and what it needs to know.
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.topics.contains(&Topic::Kubernetes) && !self.facts.has_kubectl {
            notes.push(
                "`kubectl` is not available on this host, so I can't inspect the cluster from here. If you can, \
                 run `kubectl get pods -n <namespace>` where you have access and share the output."
                    .to_owned(),
            );
        }
        if self.topics.contains(&Topic::Containers)
            && !self.facts.has_docker
            && !self.topics.contains(&Topic::Kubernetes)
        {
            notes.push("`docker` is not available on this host, so I can't list its containers from here.".to_owned());
        }
        if self.topics.contains(&Topic::Certificate) && self.names.hosts.is_empty() {
            notes.push("Tell me the hostname whose certificate to check (for example `api.example.com`).".to_owned());
        }
        notes
    }

    /// Reference pages for the topics at hand that earlier answers did not give yet.
    fn links(&self) -> Vec<UrlConfig> {
        self.topics
            .iter()
            .flat_map(|t| t.docs())
            .filter(|(url, _)| !self.conversation.linked.contains(*url))
            .take(MAX_AGENT_LINKS)
            .map(|(url, description)| UrlConfig { url: (*url).to_owned(), description: (*description).to_owned() })
            .collect()
    }
}

fn clip_chars(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsdesk_app::model::{ProtocolCommand, ProtocolMessage};

    /// "Now" for every test, so certificate checks do not depend on the day they run.
    fn now() -> DateTime<Utc> {
        "2025-06-10T12:00:00Z".parse().unwrap()
    }

    fn linux() -> HostFacts {
        HostFacts { has_systemctl: true, has_journalctl: true, ..HostFacts::default() }
    }

    fn cluster() -> HostFacts {
        HostFacts { has_kubectl: true, kube_namespace: Some("duploservices-andy".into()), ..HostFacts::default() }
    }

    fn message(role: ProtocolRole, content: &str, data: MessageData) -> ProtocolMessage {
        ProtocolMessage { role, content: content.into(), platform_context: None, data, timestamp: None }
    }

    fn user(content: &str) -> ProtocolMessage {
        message(ProtocolRole::User, content, MessageData::default())
    }

    fn decision(command: &str, execute: bool, reason: Option<&str>) -> ProtocolCommand {
        ProtocolCommand {
            command: command.into(),
            execute,
            files: Vec::new(),
            rejection_reason: reason.map(Into::into),
            explanation: None,
            risk: None,
        }
    }

    fn ran(command: &str, output: &str) -> ExecutedCommand {
        ExecutedCommand { command: command.into(), output: output.into() }
    }

    fn proposed(answer: &SendMessageResponse) -> Vec<&str> {
        answer.data.cmds.iter().map(|c| c.command.as_str()).collect()
    }

    /// A ticket's conversation, turn by turn, as the helpdesk would send it.
    struct Ticket {
        messages: Vec<ProtocolMessage>,
        facts: HostFacts,
    }

    impl Ticket {
        fn open(problem: &str, facts: HostFacts) -> Ticket {
            Ticket { messages: vec![user(problem)], facts }
        }

        /// Sends the conversation; the answer becomes part of it.
        fn answer(&mut self, ran: &[ExecutedCommand]) -> SendMessageResponse {
            let request = SendMessageRequest { messages: self.messages.clone(), thread_id: Some("ticket-42".into()) };
            let answer = respond_at(&request, ran, &self.facts, now());
            assert!(answer.data.cmds.iter().all(|c| !c.execute), "proposals await approval");
            self.messages.push(message(ProtocolRole::Assistant, &answer.content, answer.data.clone()));
            answer
        }

        /// The person approves these commands (and writes `content`); the caller ran them.
        fn approve(&mut self, content: &str, outputs: &[ExecutedCommand]) -> SendMessageResponse {
            let cmds = outputs.iter().map(|o| decision(&o.command, true, None)).collect();
            self.messages.push(message(ProtocolRole::User, content, MessageData { cmds, ..MessageData::default() }));
            self.answer(outputs)
        }
    }

    #[test]
    fn disk_full_is_found_in_df_output_with_its_mount() {
        let mut ticket = Ticket::open("Writes fail with 'No space left on device' on the app server", linux());
        let first = ticket.answer(&[]);
        assert_eq!(&proposed(&first)[..2], ["df -h", "df -i"]);

        let df = ran("df -h", include_str!("fixtures/df_h_full.txt"));
        let second = ticket.approve("", &[df, ran("df -i", include_str!("fixtures/df_i_full.txt"))]);
        assert!(second.content.contains("Filesystem `/` has used 96% of its space"), "{}", second.content);
        assert!(second.content.contains("/dev/sda1        49G   47G  2.1G  96% /"));
        assert!(second.content.contains("Filesystem `/srv` has used 98% of its inodes"));
        assert!(!second.content.contains("/snap/core20"), "snap images are always full");
        assert!(!second.content.contains("`/data`"), "44% is fine");
        let commands = proposed(&second);
        assert!(commands.contains(&"du -xh --max-depth=1 / 2>/dev/null | sort -rh | head -20"), "{commands:?}");
        let script = second.data.cmds.iter().find(|c| c.command == "sh scripts/find-large-files.sh /").unwrap();
        assert_eq!(script.files[0].file_path, "scripts/find-large-files.sh");
        assert!(first.data.url_configs.iter().any(|u| u.url.contains("man1/df.1")));
        assert!(!second.data.url_configs.iter().any(|u| u.url.contains("man1/df.1")), "links are given once");
    }

    #[test]
    fn a_change_needs_evidence_and_is_withheld_when_the_person_wants_read_only() {
        let outputs = [
            ran("df -h", include_str!("fixtures/df_h_full.txt")),
            ran("journalctl --disk-usage", include_str!("fixtures/journal_disk_usage.txt")),
        ];
        let mut ticket = Ticket::open("The disk is full", linux());
        ticket.answer(&[]);
        let answer = ticket.approve("", &outputs[..1]);
        assert!(!proposed(&answer).contains(&"journalctl --vacuum-size=200M"), "no evidence about the journal yet");
        let answer = ticket.approve("", &outputs[1..]);
        assert!(proposed(&answer).contains(&"journalctl --vacuum-size=200M"));
        assert!(answer.content.contains("**Change:** `journalctl --vacuum-size=200M`"));

        let mut careful = Ticket::open("The disk is full. Please don't change anything on this box.", linux());
        careful.answer(&[]);
        let answer = careful.approve("", &outputs);
        assert!(!proposed(&answer).iter().any(|c| c.contains("vacuum")), "{:?}", proposed(&answer));
        assert!(answer.content.contains("read-only: no changes to the host"));
    }

    #[test]
    fn oom_kill_and_memory_pressure_are_found_also_in_what_the_person_ran() {
        let mut ticket = Ticket::open("The billing java process keeps getting killed at night", linux());
        let first = ticket.answer(&[]);
        let kernel_log = "dmesg -T 2>/dev/null | grep -iE 'out of memory|oom-kill|killed process' | tail -20";
        assert_eq!(proposed(&first), ["free -m", "ps aux --sort=-%mem | head -15", kernel_log]);
        // The person approves `free -m` and shares the kernel log from their own terminal.
        let shared = vec![ran("sudo dmesg -T | grep -i kill", include_str!("fixtures/dmesg_oom.txt"))];
        let cmds = vec![decision("free -m", true, None)];
        let data = MessageData { cmds, executed_cmds: shared, ..MessageData::default() };
        ticket.messages.push(message(ProtocolRole::User, "I ran dmesg myself, see below", data));
        let free = [ran("free -m", include_str!("fixtures/free_m_pressure.txt"))];
        let answer = ticket.answer(&free);
        assert_eq!(answer.data.executed_cmds, free, "only what the agent ran is echoed");
        assert!(answer.content.contains("The kernel's OOM killer killed `java`"), "{}", answer.content);
        assert!(answer.content.contains("Out of memory: Killed process 21877 (java)"));
        assert!(answer.content.contains("Memory is nearly exhausted: 139 of 7951 available"));
        assert!(answer.content.contains("Swap is heavily used: 1911 of 2047"));
    }

    #[test]
    fn a_crash_looping_pod_leads_to_its_previous_logs_then_a_labelled_restart() {
        let mut ticket = Ticket::open("Pods in our namespace keep crashing since the last deploy", cluster());
        let first = ticket.answer(&[]);
        assert_eq!(proposed(&first)[0], "kubectl get pods -n duploservices-andy");

        let pods = ran("kubectl get pods -n duploservices-andy", include_str!("fixtures/kubectl_pods_crashloop.txt"));
        let second = ticket.approve("", &[pods]);
        assert!(second.content.contains("Pod `api-7d9f8b6c5-x2x9k` is crash-looping (CrashLoopBackOff, 14 restarts)"));
        assert_eq!(
            proposed(&second)[0],
            "kubectl logs api-7d9f8b6c5-x2x9k -n duploservices-andy --previous --tail=100"
        );
        assert!(!proposed(&second).iter().any(|c| c.contains("web-5c8d7f9b4")), "healthy pods are left alone");
        assert!(second.data.cmds.iter().all(|c| !c.command.contains("rollout")), "no change before the logs");

        let logs = ran(proposed(&second)[0], include_str!("fixtures/kubectl_logs_previous.txt"));
        let third = ticket.approve("", &[logs]);
        assert!(third.content.contains("Connection refused by `10.0.12.7:5432`"), "{}", third.content);
        assert!(third.content.contains("**Change:** `kubectl rollout restart deployment/api -n duploservices-andy`"));
    }

    #[test]
    fn connection_refused_and_the_missing_listener_are_found() {
        let mut ticket = Ticket::open("http://localhost:8080/health gives connection refused", linux());
        let first = ticket.answer(&[]);
        let probe = "curl -sS -m 5 -o /dev/null -w '%{http_code}\\n' 'http://localhost:8080/health'";
        assert!(proposed(&first).contains(&probe), "{:?}", proposed(&first));
        let outputs = [
            ran(probe, include_str!("fixtures/curl_refused.txt")),
            ran("ss -tlnp", include_str!("fixtures/ss_tlnp.txt")),
        ];
        let answer = ticket.approve("", &outputs);
        assert!(answer.content.contains("Connection refused by `localhost:8080`"), "{}", answer.content);
        assert!(answer.content.contains("Nothing is listening on port 8080"));
        assert!(answer.content.contains("`ss -tlnp` lists listeners only on: 22, 53, 80"));
    }

    #[test]
    fn dns_failures_are_found() {
        let mut ticket =
            Ticket::open("The worker can't reach api.internal.example.com: could not resolve host", linux());
        let first = ticket.answer(&[]);
        assert!(proposed(&first).starts_with(&["cat /etc/resolv.conf", "getent hosts api.internal.example.com"]));
        let outputs = [
            ran("getent hosts api.internal.example.com", "\n[exit status 2]"),
            ran("curl -sS https://api.internal.example.com/", include_str!("fixtures/curl_unresolved.txt")),
        ];
        let answer = ticket.approve("", &outputs);
        assert!(answer.content.contains("`api.internal.example.com` does not resolve"), "{}", answer.content);
        assert!(answer.content.contains("curl: (6) Could not resolve host: api.internal.example.com"));
        assert!(answer.content.matches("does not resolve").count() == 1, "one finding per name");
    }

    #[test]
    fn expired_and_soon_expiring_certificates_are_judged_against_now() {
        let mut ticket = Ticket::open(
            "Browsers warn about the certificate of https://shop.example.com and api.example.com",
            linux(),
        );
        let first = ticket.answer(&[]);
        let shop = "openssl s_client -connect shop.example.com:443 -servername shop.example.com </dev/null \
                    2>/dev/null | openssl x509 -noout -dates -subject";
        let api = shop.replace("shop.example.com", "api.example.com");
        assert_eq!(proposed(&first)[..2], [shop, api.as_str()]);
        let outputs = [
            ran(shop, include_str!("fixtures/openssl_expired.txt")),
            ran(&api, include_str!("fixtures/openssl_expiring.txt")),
        ];
        let answer = ticket.approve("", &outputs);
        assert!(
            answer.content.contains("The certificate of `shop.example.com` expired 9 day(s) ago"),
            "{}",
            answer.content
        );
        assert!(answer.content.contains("notAfter=May 31 23:59:59 2025 GMT"));
        assert!(answer.content.contains("The certificate of `api.example.com` expires in 8 day(s)"));
        assert!(proposed(&answer).contains(&"sh scripts/check-cert.sh shop.example.com"));

        // The same outputs read in April: both certificates still have months left.
        let early = "2025-04-01T00:00:00Z".parse().unwrap();
        let found = findings::analyse(&outputs, &Context { now: early, expected_ports: &[] });
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_rejected_command_is_never_proposed_again() {
        let mut ticket = Ticket::open("Pods keep crashing", cluster());
        let first = ticket.answer(&[]);
        let events = "kubectl get events -n duploservices-andy --sort-by=.metadata.creationTimestamp";
        assert!(proposed(&first).contains(&events));
        let pods = ran("kubectl get pods -n duploservices-andy", include_str!("fixtures/kubectl_pods_crashloop.txt"));
        let cmds = vec![
            decision(&pods.command, true, None),
            decision(events, false, Some("Too much output, let's focus on pods first")),
        ];
        ticket.messages.push(message(ProtocolRole::User, "", MessageData { cmds, ..MessageData::default() }));
        let second = ticket.answer(&[pods]);
        let third = ticket.approve("Anything else?", &[]);
        for answer in [&second, &third] {
            assert!(proposed(answer).iter().all(|c| !c.starts_with("kubectl get events")), "{:?}", proposed(answer));
        }
        assert!(second.content.contains("shorter output"), "the reason is a preference too");
        assert!(proposed(&second).len() <= CONCISE_PER_TURN);
    }

    #[test]
    fn avoid_describe_is_honoured_in_every_later_turn() {
        let mut ticket = Ticket::open("Pod api-7d9f8b6c5-x2x9k is down. Please avoid describe commands.", cluster());
        let first = ticket.answer(&[]);
        let pods = ran("kubectl get pods -n duploservices-andy", include_str!("fixtures/kubectl_pods_crashloop.txt"));
        let second = ticket.approve("", &[pods]);
        let logs = ran(
            "kubectl logs api-7d9f8b6c5-x2x9k -n duploservices-andy --previous --tail=100",
            include_str!("fixtures/kubectl_logs_previous.txt"),
        );
        let third = ticket.approve("What next?", &[logs]);
        for answer in [&first, &second, &third] {
            assert!(proposed(answer).iter().all(|c| !c.contains("describe")), "{:?}", proposed(answer));
            assert!(answer.content.contains("Honouring your preferences: no commands with `describe`"));
        }
        assert!(!proposed(&second).is_empty() && !proposed(&third).is_empty(), "other checks still go on");
    }

    #[test]
    fn the_first_turn_proposes_only_read_only_diagnostics() {
        let everything =
            HostFacts { has_kubectl: true, has_docker: true, has_systemctl: true, has_journalctl: true, ..cluster() };
        for problem in [
            "Disk full on /var",
            "nginx.service is down",
            "pod api-7d9f8b6c5-x2x9k in CrashLoopBackOff",
            "container shop-api keeps restarting",
            "server is slow",
            "https://shop.example.com certificate expired",
        ] {
            let answer = Ticket::open(problem, everything.clone()).answer(&[]);
            assert!(!answer.data.cmds.is_empty(), "{problem}");
            assert!(answer.content.contains("read-only") && !answer.content.contains("Change:"), "{problem}");
            for command in proposed(&answer) {
                let changes = ["restart", "prune", "vacuum", "rollout", "delete", "rm "];
                assert!(!changes.iter().any(|c| command.contains(c)), "{problem}: {command}");
            }
        }
    }

    #[test]
    fn the_answer_echoes_what_ran_and_the_thread() {
        let outputs = [ran("uptime", include_str!("fixtures/uptime_loaded.txt")), ran("nproc", "4\n")];
        let mut ticket = Ticket::open("Everything is slow", linux());
        ticket.answer(&[]);
        let answer = ticket.approve("", &outputs);
        assert_eq!(answer.data.executed_cmds, outputs);
        assert_eq!(answer.thread_id.as_deref(), Some("ticket-42"));
        assert_eq!(answer.role, Some(ProtocolRole::Assistant));
        assert!(answer.content.contains("High load: 1-minute load average 9.84 on 4 CPU core(s)"));
        assert!(answer.reasoning.unwrap().starts_with("1. Areas in your messages: CPU and load"));
    }

    #[test]
    fn kubectl_is_proposed_only_where_it_exists() {
        let problem = "Pods in namespace prod are in CrashLoopBackOff";
        let without = Ticket::open(problem, linux()).answer(&[]);
        assert!(proposed(&without).iter().all(|c| !c.starts_with("kubectl")), "{:?}", proposed(&without));
        assert!(without.content.contains("`kubectl` is not available on this host"));
        let with = Ticket::open(problem, cluster()).answer(&[]);
        assert_eq!(proposed(&with)[0], "kubectl get pods -n prod", "the namespace the person names wins");
    }

    #[test]
    fn a_vague_problem_gets_the_health_sweep() {
        let answer = Ticket::open("Something is wrong with the box, users complain", linux()).answer(&[]);
        assert_eq!(proposed(&answer), ["uptime", "df -h", "free -m", "systemctl --failed"]);
        assert!(answer.content.contains("general health sweep"));
    }

    #[test]
    fn when_the_checks_run_out_it_asks_for_detail_instead_of_repeating() {
        let mut ticket = Ticket::open("Something is wrong with the box", linux());
        let sweep = ticket.answer(&[]);
        let healthy = [
            ran("uptime", " 10:42:01 up 12 days,  3:07,  2 users,  load average: 0.12, 0.20, 0.18\n"),
            ran("df -h", "Filesystem Size Used Avail Use% Mounted on\n/dev/sda1 49G 12G 37G 25% /\n"),
            ran("free -m", "  total used free shared buff/cache available\nMem: 7951 2100 4000 12 1851 5600\n"),
            ran("systemctl --failed", "0 loaded units listed.\n"),
        ];
        assert_eq!(proposed(&sweep), healthy.iter().map(|o| o.command.as_str()).collect::<Vec<_>>());
        let second = ticket.approve("", &healthy);
        assert_eq!(proposed(&second), ["nproc"]);
        assert!(second.content.contains("I found nothing abnormal"));
        let last = ticket.approve("", &[ran("nproc", "8\n")]);
        assert!(last.data.cmds.is_empty(), "{:?}", proposed(&last));
        assert!(last.content.contains("What changed just before it started"));
        assert!(last.content.contains("The exact error message"));
        assert!(last.data.url_configs.is_empty(), "no new topic, no new links");
    }

    #[test]
    fn more_rules_on_recorded_outputs() {
        let outputs = [
            ran("systemctl --failed", include_str!("fixtures/systemctl_failed.txt")),
            ran("docker ps -a", include_str!("fixtures/docker_ps.txt")),
            ran("kubectl get events -A", include_str!("fixtures/kubectl_events_imagepull.txt")),
            ran("cat /var/log/app.log", "open /var/lib/app/state.db: permission denied\n"),
            ran("getent hosts db.example.com", "[not run: timed out]"),
        ];
        let found = findings::analyse(&outputs, &Context { now: now(), expected_ports: &[] });
        let summaries: Vec<&str> = found.iter().map(|f| f.summary.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "Unit `nginx` has failed",
                "Container `shop-api` keeps restarting",
                "Container `shop-cache` was killed (exit 137: SIGKILL, often the OOM killer)",
                "Pod `web-6f5d8c7b9-k2m4n` cannot pull its image",
                "An operation was refused: \"Permission denied\"",
            ],
            "commands that never ran prove nothing"
        );
        assert_eq!(found[3].evidence.len(), 2, "both failure events are quoted");
    }

    #[test]
    fn preferences_are_parsed_generally() {
        let said = |texts: &[&str]| Preferences::read(texts.iter().map(|t| t.to_string()).collect::<Vec<_>>().iter());
        let preferences =
            said(&["Please avoid kubectl exec. Don't use sudo", "No restarts please", "Do not change anything"]);
        let banned: Vec<&str> = preferences.banned.iter().map(|(_, words)| words.as_str()).collect();
        assert_eq!(banned, ["kubectl exec", "sudo", "restarts"]);
        assert!(preferences.read_only && !preferences.concise);
        let restart =
            Proposal { command: "systemctl restart nginx".into(), purpose: String::new(), change: true, files: vec![] };
        assert!(preferences.forbids(&restart));
        let chatter = said(&["I don't get any output, no idea why; the app writes no logs"]);
        assert_eq!(chatter, Preferences::default(), "everyday negations are not preferences");
    }

    #[test]
    fn names_are_read_from_the_problem() {
        let names = Names::in_text(
            "https://shop.example.com:8443/cart fails, port 9090 too. nginx.service and the payments service; \
             pod api-7d9f8b6c5-x2x9k, the shop-api container, namespace prod. See config.yaml",
        );
        assert_eq!(names.urls, ["https://shop.example.com:8443/cart"]);
        assert_eq!(names.hosts, ["shop.example.com"]);
        assert_eq!(names.ports, [8443, 9090]);
        assert_eq!(names.units, ["nginx", "payments"]);
        assert_eq!(names.pods, ["api-7d9f8b6c5-x2x9k"]);
        assert_eq!(names.containers, ["shop-api"]);
        assert_eq!(names.namespace.as_deref(), Some("prod"));
    }
}
