//! The command a worker runs for a task, in its own process group so that stopping it
//! stops everything it started (a shell script's children included).

use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

pub struct Cmd {
    pub child: Child,
    pid: Option<u32>,
    reaped: bool,
}

impl Cmd {
    pub fn spawn(argv: &[String], env: &[(&str, String)]) -> std::io::Result<Cmd> {
        let Some((program, args)) = argv.split_first() else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "no command given",
            ));
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        #[cfg(unix)]
        cmd.process_group(0);
        let child = cmd.spawn()?;
        let pid = child.id();
        Ok(Cmd {
            child,
            pid,
            reaped: false,
        })
    }

    pub fn mark_reaped(&mut self) {
        self.reaped = true;
    }

    #[cfg(unix)]
    fn signal_group(&self, signal: i32) {
        if let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals the process group we created;
            // it has no memory effects in this process.
            unsafe {
                libc::kill(-pid, signal);
            }
        }
    }

    /// Stops the command: SIGTERM to its group, SIGKILL if it is still there after
    /// `grace`.
    pub async fn terminate(&mut self, grace: Duration) {
        #[cfg(unix)]
        {
            self.signal_group(libc::SIGTERM);
            if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
                // The leader is gone; make sure nothing it started lingers.
                self.signal_group(libc::SIGKILL);
                self.reaped = true;
                return;
            }
            self.signal_group(libc::SIGKILL);
        }
        #[cfg(not(unix))]
        let _ = grace;
        let _ = self.child.kill().await;
        self.reaped = true;
    }
}

impl Drop for Cmd {
    fn drop(&mut self) {
        #[cfg(unix)]
        if !self.reaped {
            self.signal_group(libc::SIGKILL);
        }
    }
}
