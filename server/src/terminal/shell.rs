//! What a terminal runs: the instance's shell or a container's, from the
//! instance's `terminal` settings, and the bash integration that reports
//! each command's start, command line and exit code with the session's
//! nonce (see `marks.rs` for the wire format).
//!
//! Instance settings (`terminal` object of an instance; all optional for the
//! built-in `local` one):
//! - `shell`: argv of the instance's shell, e.g. `["ssh", "-tt", "prod-1"]`;
//! - `containers_command`: argv printing one container per line (a line of
//!   two fields is `pod container`);
//! - `exec_template`: argv opening a shell in a container, with `{container}`,
//!   `{pod}` and `{name}` filled in, e.g.
//!   `["kubectl", "exec", "-it", "{pod}", "-c", "{container}", "--", "sh"]`.

use crate::store::InstanceRecord;
use opsdesk_app::model::{ScopeChoice, TerminalScope};
use std::path::Path;
use std::time::Duration;

/// Listing containers must not hold a person's click for long.
const LIST_TIMEOUT: Duration = Duration::from_secs(5);
/// More containers than this are not offered.
const MAX_CONTAINERS: usize = 200;

/// How to start a session's process.
#[derive(Clone, Debug)]
pub struct Launch {
    pub argv: Vec<String>,
    /// The rc file to write first (bash integration), if any.
    pub rc: Option<String>,
}

fn string_array(value: Option<&serde_json::Value>, field: &str) -> Result<Option<Vec<String>>, String> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| format!("the instance's terminal `{field}` must be an array of strings")),
        Some(_) => Err(format!("the instance's terminal `{field}` must be a non-empty array of strings")),
    }
}

/// A program found on `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The container runtime of the local instance, if this machine has one.
fn local_runtime() -> Option<&'static str> {
    ["docker", "podman"].into_iter().find(|r| on_path(r))
}

fn containers_command(instance: &InstanceRecord) -> Result<Option<Vec<String>>, String> {
    if let Some(argv) = string_array(instance.terminal.get("containers_command"), "containers_command")? {
        return Ok(Some(argv));
    }
    Ok(instance
        .builtin
        .then(local_runtime)
        .flatten()
        .map(|runtime| vec![runtime.to_owned(), "ps".into(), "--format".into(), "{{.Names}}".into()]))
}

fn exec_template(instance: &InstanceRecord) -> Result<Option<Vec<String>>, String> {
    if let Some(argv) = string_array(instance.terminal.get("exec_template"), "exec_template")? {
        return Ok(Some(argv));
    }
    Ok(instance
        .builtin
        .then(local_runtime)
        .flatten()
        .map(|runtime| [runtime, "exec", "-it", "{container}", "sh"].into_iter().map(str::to_owned).collect()))
}

/// A container name as listed: letters, digits and `._-:/@` only, so it can
/// never smuggle options or shell syntax into the exec template.
fn valid_container(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-:/@".contains(c))
}

/// The containers the instance lists now (`pod/container` for two fields).
pub async fn containers(instance: &InstanceRecord) -> Result<Vec<String>, String> {
    let Some(argv) = containers_command(instance)? else { return Ok(Vec::new()) };
    let (program, args) = argv.split_first().ok_or("empty containers_command")?;
    let output = tokio::time::timeout(
        LIST_TIMEOUT,
        tokio::process::Command::new(program).args(args).stdin(std::process::Stdio::null()).kill_on_drop(true).output(),
    )
    .await
    .map_err(|_| format!("listing containers took longer than {} s", LIST_TIMEOUT.as_secs()))?
    .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or("no error text").chars().take(200).collect::<String>();
        return Err(format!("`{program}` failed: {first}"));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join("/"))
        .filter(|name| valid_container(name))
        .take(MAX_CONTAINERS)
        .collect())
}

/// Where terminals can open on `instance`, and why containers are missing.
pub async fn scopes(instance: &InstanceRecord) -> (Vec<ScopeChoice>, Option<String>) {
    let mut choices = Vec::new();
    if instance.builtin || instance.terminal.get("shell").is_some() {
        choices
            .push(ScopeChoice { scope: TerminalScope::Shell, label: format!("Admin terminal on {}", instance.name) });
    }
    let listed = match exec_template(instance) {
        Ok(Some(_)) => containers(instance).await,
        Ok(None) => Ok(Vec::new()),
        Err(error) => Err(error),
    };
    match listed {
        Ok(names) => {
            choices.extend(names.into_iter().map(|name| ScopeChoice {
                label: format!("container {name}"),
                scope: TerminalScope::Container { name },
            }));
            (choices, None)
        }
        Err(error) => (choices, Some(error)),
    }
}

/// The bash rc that reports commands with `nonce`. It loads the person's
/// usual bash setup first, then adds the marks; `HISTCONTROL` is cleared so
/// that `history 1` always names the command being run.
pub fn bash_rc(nonce: &str) -> String {
    format!(
        r#"# opsdesk shell integration: marks each command for the ticket's timeline.
[ -r /etc/bash.bashrc ] && . /etc/bash.bashrc
[ -r ~/.bashrc ] && . ~/.bashrc
__opsdesk_nonce='{nonce}'
HISTCONTROL=
HISTIGNORE=
__opsdesk_escape() {{
  local s=$1
  s=${{s//\\/\\\\}}
  s=${{s//;/\\x3b}}
  s=${{s//$'\a'/\\x07}}
  s=${{s//$'\e'/\\x1b}}
  s=${{s//$'\n'/\\x0a}}
  s=${{s//$'\r'/\\x0d}}
  printf '%s' "$s"
}}
__opsdesk_preexec() {{
  local line
  line=$(HISTTIMEFORMAT= builtin history 1)
  [[ $line =~ ^[[:space:]]*[0-9]+\*?[[:space:]]+(.*)$ ]] && line=${{BASH_REMATCH[1]}}
  printf '\e]633;C;%s;%s\a' "$__opsdesk_nonce" "$(__opsdesk_escape "$line")"
}}
__opsdesk_prompt() {{
  local code=$?
  printf '\e]633;D;%s;%s\a\e]633;A;%s\a' "$__opsdesk_nonce" "$code" "$__opsdesk_nonce"
  return $code
}}
PROMPT_COMMAND="__opsdesk_prompt${{PROMPT_COMMAND:+;$PROMPT_COMMAND}}"
PS0='$(__opsdesk_preexec)'
"#
    )
}

/// How to start a terminal of `scope` on `instance`; `rc_path` is where the
/// bash integration file will be written when the scope gets one.
pub async fn launch(
    instance: &InstanceRecord,
    scope: &TerminalScope,
    rc_path: &Path,
    nonce: &str,
) -> Result<Launch, String> {
    match scope {
        TerminalScope::Shell => {
            if let Some(argv) = string_array(instance.terminal.get("shell"), "shell")? {
                return Ok(Launch { argv, rc: None });
            }
            if !instance.builtin {
                return Err(format!(
                    "instance `{}` has no shell: give its terminal settings a `shell` command",
                    instance.name
                ));
            }
            if on_path("bash") {
                let argv = vec!["bash".into(), "--rcfile".into(), rc_path.display().to_string(), "-i".into()];
                Ok(Launch { argv, rc: Some(bash_rc(nonce)) })
            } else {
                Ok(Launch { argv: vec!["sh".into(), "-i".into()], rc: None })
            }
        }
        TerminalScope::Container { name } => {
            let template = exec_template(instance)?
                .ok_or_else(|| format!("instance `{}` has no `exec_template` for containers", instance.name))?;
            if !valid_container(name) || !containers(instance).await?.contains(name) {
                return Err(format!("no container `{name}` on instance `{}`", instance.name));
            }
            let (pod, container) = name.rsplit_once('/').unwrap_or((name.as_str(), name.as_str()));
            let argv = template
                .iter()
                .map(|part| part.replace("{name}", name).replace("{pod}", pod).replace("{container}", container))
                .collect();
            Ok(Launch { argv, rc: None })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(terminal: serde_json::Value, builtin: bool) -> InstanceRecord {
        InstanceRecord {
            id: "i1".into(),
            org_id: "o1".into(),
            name: "prod".into(),
            summary: String::new(),
            builtin,
            platform_context: serde_json::json!({}),
            terminal,
        }
    }

    #[tokio::test]
    async fn containers_come_from_the_configured_command_and_fill_the_template() {
        let settings = serde_json::json!({
            "containers_command": ["printf", "web-1\\napi pod-2\\n--evil\\nbad;name\\n"],
            "exec_template": ["kubectl", "exec", "-it", "{pod}", "-c", "{container}", "--", "sh"],
        });
        let prod = instance(settings, false);
        assert_eq!(containers(&prod).await.unwrap(), vec!["web-1", "api/pod-2"]);
        let (choices, error) = scopes(&prod).await;
        assert_eq!(error, None);
        assert_eq!(choices.len(), 2, "no shell configured, two containers: {choices:?}");
        let scope = TerminalScope::Container { name: "api/pod-2".into() };
        let launch = launch(&prod, &scope, Path::new("/nonexistent"), "n").await.unwrap();
        assert_eq!(launch.argv, vec!["kubectl", "exec", "-it", "api", "-c", "pod-2", "--", "sh"]);
        let unknown = TerminalScope::Container { name: "db".into() };
        assert!(super::launch(&prod, &unknown, Path::new("/x"), "n").await.unwrap_err().contains("no container"));
    }

    #[tokio::test]
    async fn a_failing_listing_says_why_and_the_shell_stays_offered() {
        let prod = instance(
            serde_json::json!({"shell": ["ssh", "prod"], "containers_command": ["false"], "exec_template": ["x"]}),
            false,
        );
        let (choices, error) = scopes(&prod).await;
        assert_eq!(choices.len(), 1);
        assert!(error.unwrap().contains("`false` failed"));
    }

    #[test]
    fn bad_settings_are_named() {
        let prod = instance(serde_json::json!({"shell": "ssh prod"}), false);
        let error = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(launch(&prod, &TerminalScope::Shell, Path::new("/x"), "n"))
            .unwrap_err();
        assert!(error.contains("`shell` must be"), "{error}");
    }
}
