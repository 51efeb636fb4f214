//! The conversation as the timeline tells it: which agents are assigned,
//! which commands are pending and what was decided, which messages still
//! await an answer and what the next turn must carry. Pure functions over
//! timeline entries, shared by the server (to build agent requests) and the
//! browser (to draw command cards), so both always agree.

use super::{AgentRef, CommandAction, RanBy, Risk, TimelineEntry, TimelineEvent};
use std::collections::{HashMap, HashSet};

/// The agents assigned now: the last assignment, the first being the default.
pub fn assigned_agents(timeline: &[TimelineEntry]) -> Vec<AgentRef> {
    timeline
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            TimelineEvent::AgentsAssigned { agents } => Some(agents.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A decision as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionState {
    pub seq: i64,
    pub action: CommandAction,
    pub reason: Option<String>,
    /// Whether an agent's answered turn carried it.
    pub delivered: bool,
}

/// A run of a command.
#[derive(Clone, Debug, PartialEq)]
pub struct RunState {
    pub seq: i64,
    pub exit_code: Option<i32>,
    pub ran_by: RanBy,
}

/// What a command card shows.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandCard {
    pub cmd_id: String,
    pub seq: i64,
    pub agent: AgentRef,
    pub command: String,
    pub files: Vec<String>,
    /// Why the agent proposed it, and how risky it judged it, when it said.
    pub explanation: Option<String>,
    pub risk: Option<Risk>,
    /// The latest decision.
    pub decision: Option<DecisionState>,
    pub runs: Vec<RunState>,
}

impl CommandCard {
    /// Whether a person may still approve, reject or ignore it: nothing
    /// decided yet, or the decision has not reached the agent.
    pub fn open_for_decision(&self) -> bool {
        self.decision.as_ref().is_none_or(|d| !d.delivered)
    }

    /// A short state for people: "proposed", "approved, queued", ...
    pub fn state_label(&self) -> String {
        let ran = self.runs.last().map(|run| match run.exit_code {
            Some(0) => "ran, exit 0".to_owned(),
            Some(code) => format!("ran, exit {code}"),
            None => "ran".to_owned(),
        });
        match (&self.decision, ran) {
            (_, Some(ran)) => ran,
            (None, None) => "proposed".into(),
            (Some(d), None) => match (d.action, d.delivered) {
                (CommandAction::Approve, false) => "approved, queued for the next message".into(),
                (CommandAction::Approve, true) => "approved, sent to the agent".into(),
                (CommandAction::Reject, false) => "rejected, queued for the next message".into(),
                (CommandAction::Reject, true) => "rejected, sent to the agent".into(),
                (CommandAction::Ignore, _) => "ignored".into(),
                (CommandAction::Execute, _) => "running".into(),
            },
        }
    }
}

/// Every seq that an answered turn carried to an agent.
fn delivered_seqs(timeline: &[TimelineEntry]) -> HashSet<i64> {
    timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::AgentReply { delivered, .. } => Some(delivered.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The command cards, in proposal order.
pub fn command_cards(timeline: &[TimelineEntry]) -> Vec<CommandCard> {
    let delivered = delivered_seqs(timeline);
    let mut cards: Vec<CommandCard> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for entry in timeline {
        match &entry.event {
            TimelineEvent::CommandProposed { cmd_id, agent, command, files, explanation, risk } => {
                index.insert(cmd_id.clone(), cards.len());
                cards.push(CommandCard {
                    cmd_id: cmd_id.clone(),
                    seq: entry.seq,
                    agent: agent.clone(),
                    command: command.clone(),
                    files: files.clone(),
                    explanation: explanation.clone(),
                    risk: *risk,
                    decision: None,
                    runs: Vec::new(),
                });
            }
            TimelineEvent::CommandDecided { cmd_id, action, reason } => {
                if let Some(card) = index.get(cmd_id).map(|i| &mut cards[*i]) {
                    card.decision = Some(DecisionState {
                        seq: entry.seq,
                        action: *action,
                        reason: reason.clone(),
                        delivered: delivered.contains(&entry.seq),
                    });
                }
            }
            TimelineEvent::CommandRan { cmd_id: Some(cmd_id), exit_code, ran_by, .. } => {
                if let Some(card) = index.get(cmd_id).map(|i| &mut cards[*i]) {
                    card.runs.push(RunState { seq: entry.seq, exit_code: *exit_code, ran_by: *ran_by });
                }
            }
            _ => {}
        }
    }
    cards
}

/// The messages an agent has not answered yet, grouped into the next turn:
/// the oldest unanswered message's agent and every unanswered message to it.
/// A failed turn answers nothing, so a retry (or the next message) sends them again.
pub fn next_turn(timeline: &[TimelineEntry]) -> Option<(AgentRef, Vec<i64>)> {
    let mut answered_up_to: HashMap<&str, i64> = HashMap::new();
    for entry in timeline {
        if let TimelineEvent::AgentReply { agent, in_reply_to, .. } = &entry.event {
            let up_to = answered_up_to.entry(agent.id.as_str()).or_default();
            *up_to = (*up_to).max(*in_reply_to);
        }
    }
    let unanswered = timeline.iter().filter_map(|e| match &e.event {
        TimelineEvent::Message { agent, .. } if answered_up_to.get(agent.id.as_str()).is_none_or(|s| e.seq > *s) => {
            Some((agent, e.seq))
        }
        _ => None,
    });
    let mut turn: Option<(AgentRef, Vec<i64>)> = None;
    for (agent, seq) in unanswered {
        match &mut turn {
            None => turn = Some((agent.clone(), vec![seq])),
            Some((first, seqs)) if first.id == agent.id => seqs.push(seq),
            Some(_) => {}
        }
    }
    turn
}

/// What the next turn to `agent_id` must carry besides the messages: the
/// undelivered approvals and rejections of its commands, and the commands
/// people ran since (whoever proposed them; typed in a terminal only when
/// its session shares context or it came from a command card). Seqs,
/// oldest first.
pub fn undelivered_for(timeline: &[TimelineEntry], agent_id: &str) -> Vec<i64> {
    let delivered = delivered_seqs(timeline);
    let proposer: HashMap<&str, &str> = timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::CommandProposed { cmd_id, agent, .. } => Some((cmd_id.as_str(), agent.id.as_str())),
            _ => None,
        })
        .collect();
    // Only the latest decision per command counts.
    let mut latest_decision: HashMap<&str, i64> = HashMap::new();
    for entry in timeline {
        if let TimelineEvent::CommandDecided { cmd_id, .. } = &entry.event {
            latest_decision.insert(cmd_id.as_str(), entry.seq);
        }
    }
    timeline
        .iter()
        .filter(|e| !delivered.contains(&e.seq))
        .filter(|e| match &e.event {
            TimelineEvent::CommandDecided { cmd_id, action, .. } => {
                matches!(action, CommandAction::Approve | CommandAction::Reject)
                    && latest_decision.get(cmd_id.as_str()) == Some(&e.seq)
                    && proposer.get(cmd_id.as_str()) == Some(&agent_id)
            }
            // Typed in a terminal: only while its session shares context,
            // unless it was the agent's own card executed there.
            TimelineEvent::CommandRan { ran_by: RanBy::Person, terminal, cmd_id, .. } => {
                cmd_id.is_some() || terminal.as_ref().is_none_or(|t| t.shared)
            }
            _ => false,
        })
        .map(|e| e.seq)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn agent(id: &str) -> AgentRef {
        AgentRef { id: id.into(), slug: id.into(), name: id.into() }
    }

    fn timeline(events: Vec<TimelineEvent>) -> Vec<TimelineEntry> {
        events
            .into_iter()
            .enumerate()
            .map(|(i, event)| TimelineEntry {
                seq: i as i64 + 1,
                at: DateTime::<Utc>::UNIX_EPOCH,
                author_type: crate::model::AuthorType::User,
                author: None,
                event,
            })
            .collect()
    }

    fn reply(agent_id: &str, in_reply_to: i64, delivered: Vec<i64>) -> TimelineEvent {
        TimelineEvent::AgentReply {
            agent: agent(agent_id),
            content: "ok".into(),
            reasoning: None,
            links: vec![],
            in_reply_to,
            delivered,
            proposed: vec![],
            ran: vec![],
        }
    }

    fn message(agent_id: &str) -> TimelineEvent {
        TimelineEvent::Message { agent: agent(agent_id), content: "hi".into() }
    }

    fn proposed(cmd_id: &str, agent_id: &str) -> TimelineEvent {
        TimelineEvent::CommandProposed {
            cmd_id: cmd_id.into(),
            agent: agent(agent_id),
            command: "df -h".into(),
            files: vec![],
            explanation: None,
            risk: None,
        }
    }

    fn decided(cmd_id: &str, action: CommandAction) -> TimelineEvent {
        TimelineEvent::CommandDecided { cmd_id: cmd_id.into(), action, reason: None }
    }

    #[test]
    fn queued_messages_form_one_turn_and_failures_answer_nothing() {
        let failed = TimelineEvent::AgentFailed { agent: agent("a"), reason: "down".into(), in_reply_to: 1 };
        let t = timeline(vec![message("a"), failed.clone(), message("a")]);
        assert_eq!(next_turn(&t), Some((agent("a"), vec![1, 3])));
        let t = timeline(vec![message("a"), failed, message("a"), reply("a", 3, vec![])]);
        assert_eq!(next_turn(&t), None);
    }

    #[test]
    fn each_agent_gets_its_own_turns() {
        let t = timeline(vec![message("a"), message("b"), message("a"), reply("a", 3, vec![])]);
        assert_eq!(next_turn(&t), Some((agent("b"), vec![2])));
    }

    #[test]
    fn decisions_go_to_their_agent_once_and_the_latest_wins() {
        let t = timeline(vec![
            proposed("c1", "a"),
            proposed("c2", "b"),
            decided("c1", CommandAction::Reject),
            decided("c1", CommandAction::Approve),
            decided("c2", CommandAction::Approve),
            TimelineEvent::CommandRan {
                cmd_id: None,
                command: "uptime".into(),
                output: "up".into(),
                exit_code: Some(0),
                ran_by: RanBy::Person,
                agent: None,
                truncated: false,
                terminal: None,
            },
        ]);
        assert_eq!(undelivered_for(&t, "a"), vec![4, 6]);
        assert_eq!(undelivered_for(&t, "b"), vec![5, 6]);
        let mut events: Vec<TimelineEvent> = t.into_iter().map(|e| e.event).collect();
        events.push(reply("a", 0, vec![4, 6]));
        let t = timeline(events);
        assert_eq!(undelivered_for(&t, "a"), Vec::<i64>::new());
        let cards = command_cards(&t);
        assert_eq!(cards[0].state_label(), "approved, sent to the agent");
        assert!(!cards[0].open_for_decision());
        assert_eq!(cards[1].state_label(), "approved, queued for the next message");
    }

    fn typed(command: &str, cmd_id: Option<&str>, shared: bool) -> TimelineEvent {
        TimelineEvent::CommandRan {
            cmd_id: cmd_id.map(str::to_owned),
            command: command.into(),
            output: String::new(),
            exit_code: Some(0),
            ran_by: RanBy::Person,
            agent: None,
            truncated: false,
            terminal: Some(crate::model::TerminalRun {
                session_id: "s1".into(),
                started_at: DateTime::<Utc>::UNIX_EPOCH,
                ended_at: DateTime::<Utc>::UNIX_EPOCH,
                shared,
            }),
        }
    }

    #[test]
    fn terminal_commands_reach_agents_only_when_shared_or_from_their_card() {
        let t = timeline(vec![
            proposed("c1", "a"),
            typed("ls", None, false),
            typed("df -h", None, true),
            typed("df -h", Some("c1"), false),
        ]);
        assert_eq!(undelivered_for(&t, "a"), vec![3, 4]);
        assert_eq!(command_cards(&t)[0].state_label(), "ran, exit 0");
    }
}
