//! Attachment bytes: the type is decided by content (never by name), the
//! size is capped while streaming, and the bytes are stored once under their
//! SHA-256 in `<data-dir>/attachments/`. Nothing reaches its final place
//! until it has passed every check, so a refused upload leaves nothing behind.

use opsdesk_app::error::{AppError, ErrorCode};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Default largest attachment: 10 MiB, enough for logs and screenshots.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Default number of attachments a ticket may hold.
pub const DEFAULT_MAX_PER_TICKET: u32 = 20;
/// How much of the start of a file the type check looks at.
const SNIFF_BYTES: usize = 8192;

/// Limits on attachments, from the server's configuration.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_per_ticket: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: DEFAULT_MAX_BYTES, max_per_ticket: DEFAULT_MAX_PER_TICKET }
    }
}

/// The message every refused type shares, saying what is accepted.
const ACCEPTED: &str = "attach text or logs, YAML or JSON manifests, PNG or JPEG screenshots, or gzip or tar archives";

fn refused(reason: &str) -> AppError {
    AppError::new(ErrorCode::UnsupportedMediaType, format!("{reason}; {ACCEPTED}"))
}

/// Decides a file's type from its first bytes; `complete` says whether `head`
/// is the whole file (a short file cannot be a tar archive, for instance).
pub fn sniff(head: &[u8], complete: bool) -> Result<&'static str, AppError> {
    const EXECUTABLES: &[(&[u8], &str)] = &[
        (b"\x7fELF", "ELF executable"),
        (b"MZ", "Windows executable"),
        (b"\xfe\xed\xfa\xce", "Mach-O executable"),
        (b"\xfe\xed\xfa\xcf", "Mach-O executable"),
        (b"\xce\xfa\xed\xfe", "Mach-O executable"),
        (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
        (b"\xca\xfe\xba\xbe", "Mach-O or Java class file"),
        (b"\0asm", "WebAssembly module"),
        (b"#!", "script with a #! interpreter line"),
    ];
    if let Some((_, what)) = EXECUTABLES.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Err(refused(&format!("executables are not accepted (this is a {what})")));
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok("image/png");
    }
    if head.starts_with(b"\xff\xd8\xff") {
        return Ok("image/jpeg");
    }
    if head.starts_with(b"\x1f\x8b") {
        return Ok("application/gzip");
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Ok("application/x-tar");
    }
    if head.is_empty() {
        return Err(AppError::invalid_field("file", "the file is empty"));
    }
    if !looks_like_text(head, complete) {
        return Err(refused("this file type is not accepted"));
    }
    let text = String::from_utf8_lossy(head).to_lowercase();
    let start = text.trim_start_matches('\u{feff}').trim_start();
    let markup = ["<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<svg", "<?xml"];
    if markup.iter().any(|m| start.starts_with(m)) || text.contains("<script") {
        return Err(refused("HTML, SVG and XML documents are not accepted (a browser could run them)"));
    }
    if start.starts_with('{') || start.starts_with('[') {
        return Ok("application/json");
    }
    if start.starts_with("---") || start.starts_with("apiversion:") || start.starts_with("kind:") {
        return Ok("application/yaml");
    }
    Ok("text/plain; charset=utf-8")
}

/// UTF-8 without NUL bytes and with few control characters. A multi-byte
/// character cut by the sniff window is fine when the file goes on.
fn looks_like_text(head: &[u8], complete: bool) -> bool {
    if head.contains(&0) {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => !complete && e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    let controls =
        head.iter().filter(|b| b.is_ascii_control() && !matches!(b, b'\n' | b'\r' | b'\t' | 0x1b | 0x0c)).count();
    valid && controls * 100 <= head.len()
}

/// A file name safe to store and to send back: the last path component,
/// without control characters, at most 255 bytes.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = base.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_owned();
    while clean.len() > 255 {
        clean.pop();
    }
    if clean.is_empty() || clean == "." || clean == ".." {
        "attachment".to_owned()
    } else {
        clean
    }
}

/// The bytes of a stored attachment.
pub fn blob_path(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir.join("attachments").join(&sha256[..2]).join(sha256)
}

/// What a finished upload is.
#[derive(Clone, Debug)]
pub struct StoredBlob {
    pub sha256: String,
    pub size: i64,
    pub content_type: &'static str,
}

/// Receives an upload chunk by chunk into a temporary file, checking type and
/// size as it goes; [`Upload::finish`] moves it to its content address.
pub struct Upload {
    temp: PathBuf,
    file: tokio::fs::File,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    content_type: Option<&'static str>,
    limits: Limits,
}

impl Upload {
    /// Starts an upload into `<data-dir>/tmp`.
    pub async fn start(data_dir: &Path, limits: Limits) -> Result<Upload, AppError> {
        let dir = data_dir.join("tmp");
        tokio::fs::create_dir_all(&dir).await.map_err(AppError::internal)?;
        let temp = dir.join(format!("upload-{}", uuid::Uuid::now_v7()));
        let file = tokio::fs::File::create(&temp).await.map_err(AppError::internal)?;
        Ok(Upload { temp, file, hasher: Sha256::new(), size: 0, head: Vec::new(), content_type: None, limits })
    }

    /// Adds a chunk; fails (413, 415) as soon as the file breaks a rule.
    pub async fn push(&mut self, chunk: &[u8]) -> Result<(), AppError> {
        self.size += chunk.len() as u64;
        if self.size > self.limits.max_bytes {
            return Err(AppError::new(
                ErrorCode::PayloadTooLarge,
                format!("the file is larger than the {} attachment limit", human_size(self.limits.max_bytes)),
            ));
        }
        if self.content_type.is_none() {
            let wanted = SNIFF_BYTES.saturating_sub(self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..wanted]);
            if self.head.len() >= SNIFF_BYTES {
                self.content_type = Some(sniff(&self.head, false)?);
            }
        }
        if self.content_type.is_some_and(|t| {
            t.starts_with("text/") || t.starts_with("application/json") || t.starts_with("application/yaml")
        }) && chunk.contains(&0)
        {
            return Err(refused("the file starts as text but contains binary data"));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await.map_err(AppError::internal)
    }

    /// Completes the checks and moves the bytes to their content address;
    /// on any failure the temporary file is removed.
    pub async fn finish(self, data_dir: &Path) -> Result<StoredBlob, AppError> {
        let temp = self.temp.clone();
        let stored = self.complete(data_dir).await;
        if stored.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        stored
    }

    async fn complete(mut self, data_dir: &Path) -> Result<StoredBlob, AppError> {
        let content_type = match self.content_type {
            Some(content_type) => content_type,
            None => sniff(&self.head, true)?,
        };
        self.file.flush().await.map_err(AppError::internal)?;
        self.file.sync_all().await.map_err(AppError::internal)?;
        let sha256 = crate::auth::secrets::to_hex(&self.hasher.finalize_reset());
        let target = blob_path(data_dir, &sha256);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(AppError::internal)?;
        }
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            let _ = tokio::fs::remove_file(&self.temp).await;
        } else {
            tokio::fs::rename(&self.temp, &target).await.map_err(AppError::internal)?;
        }
        Ok(StoredBlob { sha256, size: self.size as i64, content_type })
    }

    /// Throws the partial upload away.
    pub async fn abandon(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.temp).await;
    }
}

/// "10 MiB"-style sizes for messages.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `Content-Disposition: attachment` with the original name (RFC 6266):
/// an ASCII fallback and the exact UTF-8 name.
pub fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let encoded = opsdesk_app::url::percent_encode(filename, b"");
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_content() {
        assert_eq!(sniff(b"2026-01-01 ERROR disk full\n", true).unwrap(), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"{\"a\": 1}", true).unwrap(), "application/json");
        assert_eq!(sniff(b"apiVersion: v1\nkind: Pod\n", true).unwrap(), "application/yaml");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest", true).unwrap(), "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0", true).unwrap(), "image/jpeg");
        assert_eq!(sniff(b"\x1f\x8b\x08\x00", true).unwrap(), "application/gzip");
        let mut tar = vec![b'a'; 300];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar, true).unwrap(), "application/x-tar");
    }

    #[test]
    fn executables_markup_and_binaries_are_refused() {
        for bad in [
            &b"\x7fELF\x02\x01"[..],
            b"MZ\x90\x00",
            b"#!/bin/sh\nrm -rf /",
            b"<!DOCTYPE html><p>",
            b"<svg onload=x>",
            b"\x00\x01\x02\x03",
            b"PK\x03\x04zip",
        ] {
            assert_eq!(sniff(bad, true).unwrap_err().code, ErrorCode::UnsupportedMediaType, "{bad:?}");
        }
        // A name says nothing: an HTML body named .txt is still HTML.
        assert!(sniff(b"  <html><script>alert(1)</script>", true).is_err());
    }

    #[test]
    fn names_are_cleaned_and_sent_back_as_downloads() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\logs\\app.log"), "app.log");
        assert_eq!(clean_filename("bad\u{7}name.txt"), "badname.txt");
        assert_eq!(clean_filename(".."), "attachment");
        assert_eq!(
            content_disposition("résumé \"1\".log"),
            "attachment; filename=\"r_sum_ _1_.log\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.log"
        );
        assert_eq!(human_size(10 * 1024 * 1024), "10 MiB");
    }
}
