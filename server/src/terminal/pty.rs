//! A real pseudo-terminal with a child process on its far side, without
//! unsafe code: rustix opens the PTY pair and util-linux `setsid --ctty`
//! makes the child a session leader whose controlling terminal is the PTY
//! (what `login_tty` does), so job control and Ctrl-C work as in any
//! terminal. The master is non-blocking and read through tokio's `AsyncFd`,
//! which kept keystroke echo latency lowest in measurements here.

use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcsetwinsize, Winsize};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Terminal sizes are clamped to these bounds, whatever a client asks.
pub const MIN_COLS: u16 = 10;
pub const MAX_COLS: u16 = 500;
pub const MIN_ROWS: u16 = 2;
pub const MAX_ROWS: u16 = 200;

/// `(cols, rows)` within the bounds above.
pub fn clamp_size(cols: u32, rows: u32) -> (u16, u16) {
    let cols = cols.clamp(u32::from(MIN_COLS), u32::from(MAX_COLS)) as u16;
    let rows = rows.clamp(u32::from(MIN_ROWS), u32::from(MAX_ROWS)) as u16;
    (cols, rows)
}

/// What to start on the PTY.
#[derive(Clone, Debug)]
pub struct Spawn<'a> {
    pub argv: &'a [String],
    pub cwd: &'a Path,
    pub env: &'a [(String, String)],
    pub cols: u16,
    pub rows: u16,
}

/// The master side of a PTY whose child is running.
pub struct Pty {
    master: AsyncFd<OwnedFd>,
    pid: Option<u32>,
}

impl Pty {
    /// Opens a PTY pair sized `cols`×`rows` and starts `argv` on its slave
    /// side as a new session; the child is returned to be waited for.
    pub fn spawn(spawn: &Spawn<'_>) -> io::Result<(Pty, tokio::process::Child)> {
        let (program, args) =
            spawn.argv.split_first().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
        grantpt(&master)?;
        unlockpt(&master)?;
        let slave_path = ptsname(&master, Vec::new())?;
        let slave: OwnedFd = rustix::fs::open(
            slave_path.as_c_str(),
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        tcsetwinsize(&master, winsize(spawn.cols, spawn.rows))?;
        let stdio = |fd: &OwnedFd| -> io::Result<Stdio> { Ok(Stdio::from(fd.try_clone()?)) };
        let mut command = tokio::process::Command::new("setsid");
        command
            .arg("--ctty")
            .arg(program)
            .args(args)
            .current_dir(spawn.cwd)
            .env_clear()
            .envs(spawn.env.iter().map(|(k, v)| (k, v)))
            .stdin(stdio(&slave)?)
            .stdout(stdio(&slave)?)
            .stderr(stdio(&slave)?)
            .kill_on_drop(true);
        let child = command.spawn()?;
        // Our copies of the slave must go: the master reads EOF (EIO) only
        // once every slave descriptor is closed, i.e. when the shell is gone.
        drop(slave);
        let flags = fcntl_getfl(&master)?;
        fcntl_setfl(&master, flags | OFlags::NONBLOCK)?;
        let pid = child.id();
        // Deprecated for descriptors that can change under the AsyncFd; an
        // OwnedFd moved into it cannot, which is the sound case.
        #[allow(deprecated)]
        let master = AsyncFd::with_interest(master, Interest::READABLE | Interest::WRITABLE)?;
        Ok((Pty { master, pid }, child))
    }

    /// Reads what the child wrote, waiting for it; 0 bytes means the child's
    /// side is closed (Linux answers EIO then, which is mapped to 0).
    pub async fn read(&self, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            match guard.try_io(|fd| read_master(fd.get_ref(), buffer)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Reads what is there without waiting (`Ok(None)`: nothing now).
    pub fn try_read(&self, buffer: &mut [u8]) -> io::Result<Option<usize>> {
        match read_master(self.master.get_ref(), buffer) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            other => other.map(Some),
        }
    }

    /// Writes all of `bytes` to the child's input.
    pub async fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let mut guard = self.master.writable().await?;
            match guard.try_io(|fd| rustix::io::write(fd.get_ref(), bytes).map_err(io::Error::from)) {
                Ok(Ok(n)) => bytes = &bytes[n..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    /// Tells the child its window changed (SIGWINCH follows from the kernel).
    pub fn resize(&self, cols: u16, rows: u16) -> io::Result<()> {
        Ok(tcsetwinsize(self.master.get_ref(), winsize(cols, rows))?)
    }

    /// Hangs up on the child's whole session, as closing a terminal window
    /// does; `force` kills it outright.
    pub fn hang_up(&self, force: bool) {
        let Some(pid) = self.pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) else { return };
        let signal = if force { rustix::process::Signal::KILL } else { rustix::process::Signal::HUP };
        // The child is a session (and so process group) leader: signal the group.
        if rustix::process::kill_process_group(pid, signal).is_err() {
            let _ = rustix::process::kill_process(pid, signal);
        }
    }
}

fn read_master(fd: &OwnedFd, buffer: &mut [u8]) -> io::Result<usize> {
    match rustix::io::read(fd.as_fd(), buffer) {
        Ok(n) => Ok(n),
        // The slave side closed: the child and everything it started are gone.
        Err(rustix::io::Errno::IO) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn winsize(cols: u16, rows: u16) -> Winsize {
    Winsize { ws_col: cols, ws_row: rows, ws_xpixel: 0, ws_ypixel: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    async fn read_all(pty: &Pty) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = tokio::time::timeout(std::time::Duration::from_secs(10), pty.read(&mut buffer))
                .await
                .expect("output in time")
                .expect("read");
            if n == 0 {
                return all;
            }
            all.extend_from_slice(&buffer[..n]);
        }
    }

    #[tokio::test]
    async fn the_child_has_a_terminal_of_the_given_size_in_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let argv = shell("tty -s && echo tty; stty size; pwd; echo $FOO");
        let env = vec![("FOO".to_owned(), "bar".to_owned()), ("PATH".to_owned(), "/usr/bin:/bin".to_owned())];
        let (pty, mut child) =
            Pty::spawn(&Spawn { argv: &argv, cwd: dir.path(), env: &env, cols: 91, rows: 33 }).unwrap();
        let output = String::from_utf8(read_all(&pty).await).unwrap();
        let lines: Vec<&str> = output.lines().map(|l| l.trim_end_matches('\r')).collect();
        assert_eq!(lines, vec!["tty", "33 91", dir.path().canonicalize().unwrap().to_str().unwrap(), "bar"]);
        assert_eq!(child.wait().await.unwrap().code(), Some(0));
    }

    #[tokio::test]
    async fn input_reaches_the_child_and_hang_up_ends_its_session() {
        let dir = tempfile::tempdir().unwrap();
        let argv = shell("read line; echo got:$line; sleep 60 & sleep 60");
        let env = vec![("PATH".to_owned(), "/usr/bin:/bin".to_owned())];
        let (pty, mut child) =
            Pty::spawn(&Spawn { argv: &argv, cwd: dir.path(), env: &env, cols: 80, rows: 24 }).unwrap();
        pty.write_all(b"hello\r").await.unwrap();
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("got:hello") {
            let n = pty.read(&mut buffer).await.unwrap();
            assert!(n > 0, "child ended early: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buffer[..n]);
        }
        pty.hang_up(false);
        let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
        assert_eq!(status.code(), None, "ended by a signal");
        // The background sleep was in the session too: the PTY closes.
        assert!(read_all(&pty).await.len() < 4096);
    }

    #[test]
    fn sizes_are_clamped() {
        assert_eq!(clamp_size(0, 0), (MIN_COLS, MIN_ROWS));
        assert_eq!(clamp_size(100_000, 100_000), (MAX_COLS, MAX_ROWS));
        assert_eq!(clamp_size(120, 40), (120, 40));
    }
}
