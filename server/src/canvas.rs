//! Canvas directories: one working directory per ticket under
//! `<data>/canvas/<ticket id>`, where agents' files land and commands run.
//! Removed when the ticket is resolved, closed or deleted.
//!
//! Agent-supplied paths are confined: absolute paths, `..`, and any symlink
//! on the way (which could point outside) are refused with a reason people
//! can read on the timeline.

use opsdesk_app::model::{CanvasFile, MAX_AGENT_FILE_BYTES};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// Longest relative path accepted.
const MAX_PATH_CHARS: usize = 512;
/// At most this many files are listed.
const MAX_LISTED: usize = 1_000;

/// The ticket's canvas directory (which may not exist yet).
pub fn dir(data_dir: &Path, ticket_id: &str) -> PathBuf {
    data_dir.join("canvas").join(ticket_id)
}

/// Creates the ticket's canvas directory if needed.
pub fn ensure(data_dir: &Path, ticket_id: &str) -> std::io::Result<PathBuf> {
    let dir = dir(data_dir, ticket_id);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Removes the ticket's canvas directory (resolved, closed, deleted).
pub async fn remove(data_dir: &Path, ticket_id: &str) {
    let dir = dir(data_dir, ticket_id);
    match tokio::fs::remove_dir_all(&dir).await {
        Ok(()) => tracing::info!(ticket = ticket_id, "canvas directory removed"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => tracing::warn!(ticket = ticket_id, "cannot remove canvas directory: {error}"),
    }
}

/// Checks a relative path and answers its normal components, or why not.
fn components(relative: &str) -> Result<Vec<&str>, String> {
    if relative.trim().is_empty() {
        return Err("the path is empty".into());
    }
    if relative.chars().count() > MAX_PATH_CHARS || relative.contains('\0') {
        return Err(format!("the path is longer than {MAX_PATH_CHARS} characters or holds a NUL byte"));
    }
    let path = Path::new(relative);
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().ok_or("the path is not UTF-8")?),
            Component::CurDir => {}
            Component::ParentDir => return Err("the path climbs out with `..`".into()),
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute paths are refused; paths are relative to the canvas directory".into())
            }
        }
    }
    if parts.is_empty() {
        return Err("the path names the canvas directory itself".into());
    }
    Ok(parts)
}

/// Resolves `relative` inside `root`, refusing symlinks on the way. With
/// `create_parents`, missing directories are made (never through a symlink).
fn confine(root: &Path, relative: &str, create_parents: bool) -> Result<PathBuf, String> {
    let parts = components(relative)?;
    let mut path = root.to_path_buf();
    for (index, part) in parts.iter().enumerate() {
        path.push(part);
        let last = index + 1 == parts.len();
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "`{}` is a symbolic link, which could lead outside the canvas directory",
                    parts[..=index].join("/")
                ));
            }
            Ok(meta) if !last && !meta.is_dir() => {
                return Err(format!("`{}` is a file, not a directory", parts[..=index].join("/")));
            }
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if !last && create_parents {
                    std::fs::create_dir(&path)
                        .map_err(|e| format!("cannot create `{}`: {e}", parts[..=index].join("/")))?;
                }
            }
            Err(error) => return Err(format!("cannot inspect `{}`: {error}", parts[..=index].join("/"))),
        }
    }
    Ok(path)
}

/// Writes an agent's file; answers its size or why it was refused.
pub fn write_file(root: &Path, relative: &str, content: &str) -> Result<u64, String> {
    if content.len() > MAX_AGENT_FILE_BYTES {
        return Err(format!("the file is larger than {} KiB", MAX_AGENT_FILE_BYTES / 1024));
    }
    std::fs::create_dir_all(root).map_err(|e| format!("cannot create the canvas directory: {e}"))?;
    let path = confine(root, relative, true)?;
    // O_NOFOLLOW: a symlink planted between the check and the open is refused too.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| format!("cannot write `{relative}`: {e}"))?;
    file.write_all(content.as_bytes()).map_err(|e| format!("cannot write `{relative}`: {e}"))?;
    Ok(content.len() as u64)
}

/// Reads a file of the canvas directory (no symlinks); `Ok(None)` when absent.
pub fn read_file(root: &Path, relative: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, String> {
    let path = confine(root, relative, false)?;
    let file = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot read `{relative}`: {error}")),
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Ok(None);
    }
    if meta.len() > max_bytes {
        return Err(format!("`{relative}` is larger than {} MiB", max_bytes / (1024 * 1024)));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(|e| e.to_string())?;
    Ok(Some(bytes))
}

/// The regular files of the canvas directory, sorted by path; symlinks are skipped.
pub fn list(root: &Path) -> Vec<CanvasFile> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let path = entry.path();
            if meta.is_dir() {
                pending.push(path);
            } else if meta.is_file() && files.len() < MAX_LISTED {
                let Ok(relative) = path.strip_prefix(root) else { continue };
                let Some(relative) = relative.to_str() else { continue };
                let modified = meta.modified().map(chrono::DateTime::<chrono::Utc>::from).unwrap_or_default();
                files.push(CanvasFile { path: relative.to_owned(), size: meta.len(), modified_at: modified });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_stay_inside_the_canvas_directory() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("canvas");
        assert_eq!(write_file(&root, "config/app.yaml", "a: 1\n"), Ok(5));
        assert_eq!(read_file(&root, "./config/app.yaml", 1024).unwrap().unwrap(), b"a: 1\n");
        assert!(write_file(&root, "../escape.txt", "x").unwrap_err().contains(".."));
        assert!(write_file(&root, "/etc/passwd", "x").unwrap_err().contains("absolute"));
        assert!(write_file(&root, "", "x").is_err());
        assert!(!temp.path().join("escape.txt").exists());

        // A symlink that points outside is refused, as a directory and as a file.
        let outside = temp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        std::os::unix::fs::symlink(outside.join("f"), root.join("file-link")).unwrap();
        assert!(write_file(&root, "link/evil.sh", "x").unwrap_err().contains("symbolic link"));
        assert!(write_file(&root, "file-link", "x").unwrap_err().contains("symbolic link"));
        assert!(read_file(&root, "link/evil.sh", 1024).is_err());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

        let listed: Vec<String> = list(&root).into_iter().map(|f| f.path).collect();
        assert_eq!(listed, vec!["config/app.yaml"]);
    }
}
