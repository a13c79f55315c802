//! Driving the console without a terminal: keys in, effects performed inline, frames
//! drawn on ratatui's `TestBackend`. Tests and `taskyard bench console` use it; it runs
//! the same state, views and effects as the real loop.

use crate::console::effect::perform;
use crate::console::inbox::Intake;
use crate::console::keymap::Keymap;
use crate::console::state::{App, Effect, Msg, Options};
use crate::console::theme::Theme;
use crate::console::view;
use crate::source::{Source, SourceEvent};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures::FutureExt;
use futures::StreamExt;
use futures::stream::BoxStream;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::CellWidth;
use std::sync::Arc;

pub struct Harness {
    pub app: App,
    pub source: Arc<dyn Source>,
    events: BoxStream<'static, SourceEvent>,
    pub terminal: Terminal<TestBackend>,
}

/// A key event from its keymap name: `j`, `G`, `ctrl-a`, `enter`, `shift-tab`, `space`.
pub fn key(spec: &str) -> KeyEvent {
    let (mods, rest) = match spec.strip_prefix("ctrl-") {
        Some(r) if r.chars().count() == 1 => (KeyModifiers::CONTROL, r),
        _ => (KeyModifiers::NONE, spec),
    };
    let code = match rest {
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "shift-tab" => return KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
        "backspace" => KeyCode::Backspace,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pgup" => KeyCode::PageUp,
        "pgdn" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "space" => KeyCode::Char(' '),
        other => {
            let c = other.chars().next().unwrap_or(' ');
            let mods = if c.is_ascii_uppercase() {
                mods | KeyModifiers::SHIFT
            } else {
                mods
            };
            return KeyEvent::new(KeyCode::Char(c), mods);
        }
    };
    KeyEvent::new(code, mods)
}

impl Harness {
    /// A console over `source` on a `width`×`height` test terminal, with the first
    /// reads done.
    pub async fn new(
        source: Arc<dyn Source>,
        options: Options,
        width: u16,
        height: u16,
    ) -> Harness {
        let events = source.events(None);
        let mut app = App::new(options);
        let fx = app.start(width, height, source.now());
        let terminal = match Terminal::new(TestBackend::new(width, height)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        let mut h = Harness {
            app,
            source,
            events,
            terminal,
        };
        h.run(fx).await;
        h
    }

    /// The default options for a source: dark theme, default keys, UTC.
    pub fn options(source: &dyn Source) -> Options {
        Options {
            mode: source.mode(),
            read_only: false,
            keymap: Keymap::default(),
            theme: Theme::named("dark").unwrap_or_else(|_| unreachable_theme()),
            utc_offset_s: 0,
            workload: source.workload(),
        }
    }

    /// Performs effects and whatever they lead to, until nothing is left.
    pub async fn run(&mut self, mut fx: Vec<Effect>) {
        while !fx.is_empty() {
            let mut next = Vec::new();
            for e in fx {
                let msg = perform(&*self.source, e).await;
                next.extend(self.app.update(msg));
            }
            fx = next;
        }
    }

    /// Takes the events already published, as the inbox would, and applies them.
    pub async fn drain_events(&mut self) {
        let mut intake = Intake::default();
        // Let the engine publish what it committed.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        while let Some(Some(e)) = self.events.next().now_or_never() {
            intake.push(e);
        }
        if !intake.is_empty() {
            let fx = self.app.update(Msg::Events(Box::new(intake)));
            self.run(fx).await;
        }
    }

    pub async fn send(&mut self, msg: Msg) {
        let fx = self.app.update(msg);
        self.run(fx).await;
    }

    /// Presses keys given by name, one after the other, settling after each.
    pub async fn keys(&mut self, keys: &[&str]) {
        for k in keys {
            self.send(Msg::Key(key(k))).await;
        }
    }

    /// Types text into whatever has the keyboard.
    pub async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let mods = if c.is_ascii_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            self.send(Msg::Key(KeyEvent::new(KeyCode::Char(c), mods)))
                .await;
        }
    }

    /// A tick at the source's now: refreshes what events made stale.
    pub async fn tick(&mut self) {
        self.drain_events().await;
        let now = self.source.now();
        self.send(Msg::Tick { now }).await;
    }

    /// Re-reads everything (as Ctrl-R does).
    pub async fn refresh(&mut self) {
        self.drain_events().await;
        let fx = self.app.refresh_all();
        self.run(fx).await;
    }

    /// Draws a frame and returns the screen as text, one line per row.
    pub fn render(&mut self) -> String {
        let app = &self.app;
        if let Err(e) = self.terminal.draw(|f| view::render(app, f)) {
            match e {}
        }
        buffer_text(self.terminal.backend().buffer())
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.terminal.backend_mut().resize(width, height);
        let _ = self.app.update(Msg::Resize(width, height));
    }
}

fn unreachable_theme() -> Theme {
    // The built-in dark theme is tested to parse; this only keeps the harness total.
    Theme::parse("fallback", "").unwrap_or_else(|e| panic!("no theme: {e}"))
}

/// The buffer's text, trailing spaces trimmed.
pub fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        let mut skip: u16 = 0;
        for x in 0..area.width {
            let cell = &buf[(x, y)];
            if skip == 0 {
                line.push_str(cell.symbol());
            }
            skip = skip.max(cell.cell_width()).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
