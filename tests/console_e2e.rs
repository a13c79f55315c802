//! End to end: the real binary in a real terminal (tmux). The sandbox comes alive, keys
//! work, and `q` gives the terminal back as it was. Skipped, saying so, without tmux.

use std::process::Command;

mod http_common;
use http_common::Server;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    /// A session on a tmux server of its own (`label` keeps tests apart).
    fn start(label: &str, width: u16, height: u16) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("console_e2e: tmux is not installed; skipping the terminal test");
            return None;
        }
        let socket = format!("taskyard-e2e-{label}-{}", std::process::id());
        let t = Tmux { socket };
        let ok = t
            .cmd(&[
                "new-session",
                "-d",
                "-s",
                "e2e",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                "env -i PATH=/usr/bin:/bin HOME=/tmp TERM=xterm-256color bash --norc --noprofile",
            ])
            .status
            .success();
        assert!(ok, "tmux could not start a session");
        Some(t)
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn send(&self, keys: &[&str]) {
        for k in keys {
            self.cmd(&["send-keys", "-t", "e2e", k]);
            // One key per send: an Esc followed at once by a key reads as Alt-key.
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    /// The shell's terminal is back in cooked mode (line editing and echo on).
    fn assert_cooked(&self) {
        self.send(&[
            "stty -a | tr ' ' '\\n' | grep -x -e icanon -e echo | tr '\\n' ' '; echo AFTER",
            "Enter",
        ]);
        // The output line, not the command line that also ends with AFTER.
        let after = self.wait_for("stty after", 10, |s| {
            s.lines()
                .any(|l| l.starts_with("icanon echo AFTER") || l == "AFTER")
        });
        assert!(
            after.contains("icanon echo AFTER"),
            "raw mode left on: {after}"
        );
    }

    /// Polls the screen until `check` holds, or fails after `secs` with the screen.
    fn wait_for(&self, what: &str, secs: u64, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if check(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "waited {secs}s for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

/// The `Tasks N` count in the table's title.
fn task_count(screen: &str) -> Option<u64> {
    let at = screen.find("Tasks ")? + "Tasks ".len();
    let digits: String = screen[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    digits.parse().ok()
}

#[test]
fn the_sandbox_comes_alive_and_q_restores_the_terminal() {
    let Some(t) = Tmux::start("alive", 200, 50) else {
        return;
    };
    let bin = env!("CARGO_BIN_EXE_taskyard");
    t.wait_for("the shell", 10, |s| s.contains('$') || s.contains('#'));
    t.send(&[
        "stty -a | tr ' ' '\\n' | grep -x -e icanon -e echo | tr '\\n' ' '; echo BEFORE",
        "Enter",
    ]);
    let before = t.wait_for("stty before", 10, |s| {
        s.contains("BEFORE\n") || s.lines().any(|l| l == "BEFORE")
    });
    assert!(before.contains("icanon echo"), "{before}");
    // Its own TMPDIR, to see the sandbox's data directory come and go.
    let tmp = tempfile::tempdir().unwrap();
    let sandboxes = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    };
    t.send(&[
        &format!("TMPDIR={} {bin}; echo EXITED-$?", tmp.path().display()),
        "Enter",
    ]);

    // Alive: rows appear and keep coming.
    let first = t.wait_for("the console with tasks", 20, |s| {
        s.contains("sandbox") && task_count(s).is_some_and(|n| n > 0)
    });
    let n = task_count(&first).unwrap_or(0);
    let later = t.wait_for("more tasks", 20, |s| task_count(s).is_some_and(|m| m > n));
    let dirs = sandboxes();
    assert_eq!(dirs.len(), 1, "one sandbox data directory: {dirs:?}");
    assert!(
        dirs[0].join("taskyard.db").is_file(),
        "the sandbox is on SQLite"
    );
    assert!(later.contains("● connected"), "{later}");
    assert!(later.contains("workload ▶ running"), "{later}");
    assert!(
        later.contains("succeeded") || later.contains("in-progress"),
        "live rows: {later}"
    );

    // Keys work: W stops the workload, help opens and closes.
    t.send(&["W"]);
    t.wait_for("the workload stopped", 10, |s| {
        s.contains("workload ⏸ stopped")
    });
    t.send(&["?"]);
    t.wait_for("help", 10, |s| s.contains("Keys in the tasks view"));
    t.send(&["Escape"]);
    t.wait_for("help closed", 10, |s| !s.contains("Keys in the tasks view"));

    // q quits and the shell is back, cooked as before.
    t.send(&["q"]);
    let after = t.wait_for("the shell back", 20, |s| s.contains("EXITED-0"));
    assert!(
        sandboxes().is_empty(),
        "the temporary data directory is removed"
    );
    assert!(
        !after.contains("Tasks "),
        "the alternate screen is gone: {after}"
    );
    t.assert_cooked();
}

#[test]
fn sigterm_restores_the_terminal() {
    let Some(t) = Tmux::start("sigterm", 100, 30) else {
        return;
    };
    let bin = env!("CARGO_BIN_EXE_taskyard");
    t.wait_for("the shell", 10, |s| s.contains('$') || s.contains('#'));
    t.send(&[&format!("{bin} --no-workload; echo EXITED-$?"), "Enter"]);
    t.wait_for("the console", 20, |s| s.contains("Tasks "));
    // The console is the shell's child: signal it by its pid.
    let shell =
        String::from_utf8_lossy(&t.cmd(&["display", "-p", "-t", "e2e", "#{pane_pid}"]).stdout)
            .trim()
            .to_string();
    let ps = Command::new("ps")
        .args(["-o", "pid=", "--ppid", &shell])
        .output()
        .expect("ps runs");
    let pid = String::from_utf8_lossy(&ps.stdout).trim().to_string();
    assert!(
        !pid.is_empty(),
        "no console process under the shell {shell}"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let after = t.wait_for("the shell back", 20, |s| s.contains("EXITED-"));
    assert!(!after.contains("Tasks "), "{after}");
    t.assert_cooked();
}

/// Run by `a_panic_restores_the_terminal` inside tmux (ignored otherwise): the
/// console's terminal setup, a screen drawn, then a panic.
#[test]
#[ignore = "the child of a_panic_restores_the_terminal"]
fn panicking_console_child() {
    if std::env::var_os("TASKYARD_E2E_PANIC_CHILD").is_none() {
        return;
    }
    let (mut term, _guard) = taskyard::console::terminal::enter(false).expect("a terminal");
    term.draw(|f| f.render_widget(ratatui::widgets::Paragraph::new("CHILD-SCREEN"), f.area()))
        .expect("draws");
    std::thread::sleep(Duration::from_millis(500));
    panic!("a deliberate panic in the console");
}

#[test]
fn a_panic_restores_the_terminal() {
    let Some(t) = Tmux::start("panic", 100, 30) else {
        return;
    };
    let me = std::env::current_exe().expect("the test binary's path");
    t.wait_for("the shell", 10, |s| s.contains('$') || s.contains('#'));
    t.send(&[
        &format!(
            "TASKYARD_E2E_PANIC_CHILD=1 {} panicking_console_child --exact --ignored --nocapture --test-threads 1; echo EXITED-$?",
            me.display()
        ),
        "Enter",
    ]);
    t.wait_for("the child's screen", 20, |s| s.contains("CHILD-SCREEN"));
    let after = t.wait_for("the shell back", 20, |s| s.contains("EXITED-"));
    assert!(
        !after.contains("CHILD-SCREEN"),
        "the alternate screen is gone: {after}"
    );
    assert!(after.contains("EXITED-101"), "the child panicked: {after}");
    // Printed after the terminal was restored, so it is still there to read.
    assert!(
        after.contains("a deliberate panic in the console"),
        "the panic message is on the screen: {after}"
    );
    t.assert_cooked();
}

/// Runs a CLI subcommand against this server and returns its JSON output.
fn cli(server: &Server, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_taskyard"))
        .args(args)
        .args(["--server", &server.url, "--json"])
        .env_remove("TASKYARD_TOKEN")
        .output()
        .expect("the CLI runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn remote_pause_and_cancel_are_visible_through_the_api() {
    let Some(t) = Tmux::start("remote", 160, 40) else {
        return;
    };
    let server = Server::start(&[]);
    // An external definition nobody works on: the task stays ready until cancelled.
    let run = cli(
        &server,
        &[
            "run",
            "import",
            "--conf",
            r#"{"resource_type":"Patient"}"#,
            "--thread",
            "imports",
        ],
    );
    let id = run["tasks"][0]
        .as_u64()
        .or_else(|| run["id"].as_u64())
        .unwrap_or_else(|| panic!("no task id in {run}"));
    let bin = env!("CARGO_BIN_EXE_taskyard");
    t.wait_for("the shell", 10, |s| s.contains('$') || s.contains('#'));
    t.send(&[
        &format!("{bin} console --server {}; echo EXITED-$?", server.url),
        "Enter",
    ]);
    t.wait_for("the remote console with the task", 20, |s| {
        s.contains(&server.url) && s.contains("● connected") && s.contains("import")
    });

    // p on the threads pane pauses the thread on the server.
    t.send(&["2", "p"]);
    t.wait_for("the paused thread", 10, |s| s.contains("paused imports"));
    let threads = cli(&server, &["threads"]);
    let imports = threads["threads"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == "imports"))
        .unwrap_or_else(|| panic!("no thread imports in {threads}"))
        .clone();
    assert_eq!(imports["paused"], true, "{imports}");

    // c, y on the task cancels it on the server.
    t.send(&["1", "g", "c"]);
    t.wait_for("the dialog", 10, |s| {
        s.contains(&format!("Cancel 1 task: {id}?"))
    });
    t.send(&["y"]);
    t.wait_for("the cancel", 10, |s| s.contains(&format!("canceled #{id}")));
    let task = cli(&server, &["show", &id.to_string()]);
    assert_eq!(task["outcome"], "canceled", "{task}");

    t.send(&["q"]);
    t.wait_for("the shell back", 20, |s| s.contains("EXITED-0"));
}
