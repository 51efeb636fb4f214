//! Instances: the environments tickets are about and agents and terminals
//! work in. Every org has a built-in `local` instance: this very machine.

use crate::auth;
use crate::state::AppState;
use crate::store::{InstanceRecord, Store, StoreResult};
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    InstanceView, Me, NewInstance, Permission, MAX_INSTANCE_NAME_CHARS, MAX_INSTANCE_SUMMARY_CHARS,
};
use std::collections::BTreeMap;

/// The context summary of the built-in `local` instance, read from the host.
pub fn local_summary() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this machine".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|k| k.trim().to_owned()).unwrap_or_default();
    let os = os_name().unwrap_or_else(|| std::env::consts::OS.to_owned());
    format!(
        "The opsdesk server's own host `{host}`: {os}, kernel {kernel}, {arch}. Shells run as the server's user.",
        arch = std::env::consts::ARCH
    )
}

/// `PRETTY_NAME` from os-release, e.g. "Debian GNU/Linux 12 (bookworm)".
fn os_name() -> Option<String> {
    let release = std::fs::read_to_string("/etc/os-release").ok()?;
    release.lines().find_map(|line| line.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_owned())
}

/// Makes sure the org has its `local` instance.
pub async fn ensure_local(store: &dyn Store, org_id: &str) -> StoreResult<InstanceRecord> {
    store.ensure_local_instance(org_id, &local_summary()).await
}

impl From<InstanceRecord> for InstanceView {
    /// What people may see: the context's key names, never its values.
    fn from(record: InstanceRecord) -> Self {
        let context_keys = record.platform_context.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        InstanceView {
            id: record.id,
            name: record.name,
            summary: record.summary,
            builtin: record.builtin,
            context_keys,
        }
    }
}

/// The org's instances.
pub async fn list(state: &AppState, me: &Me) -> AppResult<Vec<InstanceView>> {
    auth::require(me, Permission::Read)?;
    Ok(state.store.instances(&me.org.id).await?.into_iter().map(InstanceView::from).collect())
}

/// Adds an instance (admins). `platform_context` and `terminal` must be JSON
/// objects; the context is stored as given and never shown again.
pub async fn create(state: &AppState, me: &Me, body: NewInstance) -> AppResult<InstanceView> {
    auth::require(me, Permission::Administer)?;
    let name = body.name.trim();
    let summary = body.summary.as_deref().unwrap_or_default().trim();
    let mut fields = BTreeMap::new();
    let name_ok = !name.is_empty()
        && name.chars().count() <= MAX_INSTANCE_NAME_CHARS
        && name.chars().all(|c| c.is_alphanumeric() || "-_. ".contains(c));
    if !name_ok {
        fields.insert(
            "name".to_owned(),
            format!("name must be 1 to {MAX_INSTANCE_NAME_CHARS} letters, digits, spaces, dots, dashes or underscores"),
        );
    }
    if summary.chars().count() > MAX_INSTANCE_SUMMARY_CHARS {
        fields.insert("summary".to_owned(), format!("summary is longer than {MAX_INSTANCE_SUMMARY_CHARS} characters"));
    }
    let empty = || serde_json::Value::Object(Default::default());
    let platform_context = body.platform_context.unwrap_or_else(empty);
    let terminal = body.terminal.unwrap_or_else(empty);
    for (field, value) in [("platform_context", &platform_context), ("terminal", &terminal)] {
        if !value.is_object() {
            fields.insert(field.to_owned(), format!("{field} must be a JSON object"));
        }
    }
    if let Some(error) = AppError::invalid_fields(fields) {
        return Err(error);
    }
    let record = state.store.create_instance(&me.org.id, name, summary, &platform_context, &terminal).await?;
    // The context's values may be credentials: log the name only.
    tracing::info!(by = %me.user.email, instance = %record.name, "instance created");
    Ok(record.into())
}

/// What a command printed (stdout and stderr interleaved) and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    pub output: String,
    /// `None` when it was killed (time-out or signal).
    pub exit_code: Option<i32>,
    /// The output went past the cap and was cut.
    pub truncated: bool,
    pub timed_out: bool,
}

/// How commands reach an instance: the built-in `local` one runs them here
/// with `sh -c`; others name an argv prefix in their terminal settings,
/// `{"command_prefix": ["ssh", "prod-1"]}` or `["docker", "exec", "web", "sh", "-c"]`,
/// to which the command is appended as one argument.
fn command_argv(instance: &InstanceRecord, command: &str) -> Result<Vec<String>, String> {
    let prefix = instance.terminal.get("command_prefix");
    let mut argv: Vec<String> = match prefix {
        Some(serde_json::Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or("the instance's command_prefix must be an array of strings")?,
        Some(_) => return Err("the instance's command_prefix must be a non-empty array of strings".into()),
        None if instance.builtin => vec!["sh".into(), "-c".into()],
        None => {
            return Err(format!(
                "instance `{}` has no way to run commands: give it a terminal `command_prefix`",
                instance.name
            ))
        }
    };
    argv.push(command.to_owned());
    Ok(argv)
}

/// Runs a command on the instance in `cwd`, killing its whole process group
/// after `timeout` and keeping at most `cap` bytes of output.
pub async fn run_command(
    instance: &InstanceRecord,
    cwd: &std::path::Path,
    command: &str,
    timeout: std::time::Duration,
    cap: usize,
) -> Result<CommandOutput, String> {
    use tokio::io::AsyncReadExt;
    let argv = command_argv(instance, command)?;
    // coreutils `timeout` puts the command in its own process group and
    // signals the whole group, so children of the command die with it.
    let seconds = timeout.as_secs().max(1).to_string();
    let mut child = tokio::process::Command::new("timeout")
        .args(["--kill-after=2", &seconds, "sh", "-c", "exec 2>&1; exec \"$@\"", "sh"])
        .args(&argv)
        .current_dir(cwd)
        .env("TERM", "dumb")
        .env("PAGER", "cat")
        .env("SYSTEMD_PAGER", "")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the command: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no output pipe")?;
    let mut kept = Vec::with_capacity(cap.min(64 * 1024));
    let mut truncated = false;
    let mut buffer = [0u8; 8192];
    loop {
        match stdout.read(&mut buffer).await {
            Ok(0) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
                truncated |= n > room;
            }
            Err(error) => return Err(format!("cannot read the command's output: {error}")),
        }
    }
    let status = child.wait().await.map_err(|e| format!("cannot wait for the command: {e}"))?;
    // `timeout` exits 124 when it had to stop the command (137 after SIGKILL).
    let timed_out = matches!(status.code(), Some(124) | Some(137));
    let mut output = String::from_utf8_lossy(&kept).into_owned();
    if timed_out {
        output.push_str(&format!("\n[stopped after {seconds} s]"));
    }
    Ok(CommandOutput { output, exit_code: if timed_out { None } else { status.code() }, truncated, timed_out })
}
