//! Colours (SPEC §9: `--theme dark|light`, `NO_COLOR`). Themes are TOML files in
//! `assets/themes/`, built into the binary. Without colour every distinction the screen
//! needs is made with bold, dim and reverse instead.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::str::FromStr;
use taskyard_core::model::{Outcome, Status};

pub const THEMES: &[(&str, &str)] = &[
    ("dark", include_str!("../../assets/themes/dark.toml")),
    ("light", include_str!("../../assets/themes/light.toml")),
];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    text: String,
    background: String,
    dim: String,
    accent: String,
    border: String,
    border_focus: String,
    title: String,
    header_bg: String,
    selected_bg: String,
    selected_fg: String,
    marked: String,
    error: String,
    ok: String,
    warn: String,
    created: String,
    waiting: String,
    ready: String,
    requested: String,
    in_progress: String,
    succeeded: String,
    failed: String,
    canceled: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    /// False under `NO_COLOR`: styles use modifiers only.
    pub color: bool,
    text: Color,
    background: Color,
    dim: Color,
    accent: Color,
    border: Color,
    border_focus: Color,
    title: Color,
    header_bg: Color,
    selected_bg: Color,
    selected_fg: Color,
    marked: Color,
    error: Color,
    ok: Color,
    warn: Color,
    status: [Color; 5],
    outcome: [Color; 3],
}

fn color(field: &str, text: &str) -> Result<Color, String> {
    Color::from_str(text).map_err(|_| {
        format!("theme colour {field} = \"{text}\" is not a colour; use a name (red), \"#rrggbb\", an ANSI index or \"reset\"")
    })
}

impl Theme {
    /// A built-in theme by name (`dark`, `light`).
    pub fn named(name: &str) -> Result<Theme, String> {
        let Some((_, text)) = THEMES.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = THEMES.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "there is no theme `{name}`; choose one of: {}",
                names.join(", ")
            ));
        };
        Theme::parse(name, text)
    }

    pub fn parse(name: &str, text: &str) -> Result<Theme, String> {
        let f: ThemeFile =
            toml::from_str(text).map_err(|e| format!("theme `{name}` is not valid: {e}"))?;
        Ok(Theme {
            name: name.to_string(),
            color: true,
            text: color("text", &f.text)?,
            background: color("background", &f.background)?,
            dim: color("dim", &f.dim)?,
            accent: color("accent", &f.accent)?,
            border: color("border", &f.border)?,
            border_focus: color("border_focus", &f.border_focus)?,
            title: color("title", &f.title)?,
            header_bg: color("header_bg", &f.header_bg)?,
            selected_bg: color("selected_bg", &f.selected_bg)?,
            selected_fg: color("selected_fg", &f.selected_fg)?,
            marked: color("marked", &f.marked)?,
            error: color("error", &f.error)?,
            ok: color("ok", &f.ok)?,
            warn: color("warn", &f.warn)?,
            status: [
                color("created", &f.created)?,
                color("waiting", &f.waiting)?,
                color("ready", &f.ready)?,
                color("requested", &f.requested)?,
                color("in_progress", &f.in_progress)?,
            ],
            outcome: [
                color("succeeded", &f.succeeded)?,
                color("failed", &f.failed)?,
                color("canceled", &f.canceled)?,
            ],
        })
    }

    /// The same theme without colour (`NO_COLOR`).
    pub fn monochrome(mut self) -> Theme {
        self.color = false;
        self
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// The whole screen's base.
    pub fn base(&self) -> Style {
        if self.color {
            Style::new().fg(self.text).bg(self.background)
        } else {
            Style::new()
        }
    }

    pub fn text(&self) -> Style {
        self.fg(self.text)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(self.dim)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn accent(&self) -> Style {
        self.fg(self.accent).add_modifier(Modifier::BOLD)
    }

    pub fn title(&self) -> Style {
        self.fg(self.title).add_modifier(Modifier::BOLD)
    }

    pub fn border(&self, focused: bool) -> Style {
        match (self.color, focused) {
            (true, true) => Style::new().fg(self.border_focus),
            (true, false) => Style::new().fg(self.border),
            (false, true) => Style::new().add_modifier(Modifier::BOLD),
            (false, false) => Style::new().add_modifier(Modifier::DIM),
        }
    }

    pub fn header(&self) -> Style {
        if self.color {
            Style::new().bg(self.header_bg)
        } else {
            Style::new()
        }
    }

    pub fn selected(&self) -> Style {
        if self.color {
            Style::new()
                .bg(self.selected_bg)
                .fg(self.selected_fg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn marked(&self) -> Style {
        self.fg(self.marked).add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.fg(self.error).add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.fg(self.ok)
    }

    pub fn warn(&self) -> Style {
        self.fg(self.warn).add_modifier(Modifier::BOLD)
    }

    /// A task's status, or its outcome once done.
    pub fn status(&self, status: Status, outcome: Option<Outcome>) -> Style {
        match (status, outcome) {
            (Status::Done, Some(o)) => self.outcome(o),
            (Status::Done, None) => self.dim(),
            (s, _) => {
                let style = self.fg(self.status[s.index()]);
                if s == Status::InProgress {
                    style.add_modifier(Modifier::BOLD)
                } else {
                    style
                }
            }
        }
    }

    pub fn outcome(&self, o: Outcome) -> Style {
        let style = self.fg(self.outcome[o.index()]);
        match (self.color, o) {
            (false, Outcome::Failed) => style.add_modifier(Modifier::BOLD),
            (false, Outcome::Canceled) => style.add_modifier(Modifier::ITALIC),
            _ => style,
        }
    }

    /// For the timeline's bars: the outcome's colour as a foreground.
    pub fn outcome_color(&self, o: Option<Outcome>) -> Style {
        match o {
            Some(o) => self.outcome(o),
            None => self.fg(self.status[Status::InProgress.index()]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_load() {
        for (name, _) in THEMES {
            Theme::named(name).unwrap();
        }
        assert!(Theme::named("neon").unwrap_err().contains("dark, light"));
    }

    #[test]
    fn monochrome_uses_no_colour() {
        let t = Theme::named("dark").unwrap().monochrome();
        assert_eq!(t.selected().fg, None);
        assert!(t.selected().add_modifier.contains(Modifier::REVERSED));
        assert_eq!(t.status(Status::Ready, None).fg, None);
    }
}
