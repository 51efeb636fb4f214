//! Instances: the environments tickets are about and agents and terminals
//! work in. Every org has a built-in `local` instance: this very machine.

use crate::store::{InstanceRecord, Store, StoreResult};

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
