//! The console's config file (SPEC §9): `~/.config/taskyard/config.toml` (or
//! `$XDG_CONFIG_HOME/taskyard/config.toml`, or `$TASKYARD_CONFIG`) with the keymap, the
//! theme, mouse and server profiles. `taskyard config --default` prints the default one.

use anyhow::Context as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `dark` or `light`.
    #[serde(default)]
    pub theme: Option<String>,
    /// Mouse capture (click and wheel); off keeps the terminal's own text selection.
    #[serde(default)]
    pub mouse: Option<bool>,
    /// Command name → keys, replacing that command's default keys.
    #[serde(default)]
    pub keys: BTreeMap<String, KeyList>,
    /// Named servers for `taskyard console --server NAME`.
    #[serde(default)]
    pub servers: BTreeMap<String, ServerProfile>,
}

/// One key (`"c"`) or several (`["c", "ctrl-k"]`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn keys(&self) -> Vec<String> {
        match self {
            KeyList::One(k) => vec![k.clone()],
            KeyList::Many(ks) => ks.clone(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerProfile {
    pub url: String,
    #[serde(default)]
    pub token: Option<String>,
}

impl Config {
    /// Where the config file is looked for.
    pub fn path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("TASKYARD_CONFIG") {
            return Some(PathBuf::from(p));
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| dirs::home_dir().map(|h| h.join(".config")))?;
        Some(base.join("taskyard").join("config.toml"))
    }

    /// Loads `path`, or the default place; a missing file is the default config.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let Some(path) = path.map(Path::to_path_buf).or_else(Config::path) else {
            return Ok(Config::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text)
                .with_context(|| format!("the config file {} is not valid", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        // Check what can be checked without the console: names and keys.
        crate::console::keymap::Keymap::with_overrides(&config.key_overrides())
            .map_err(anyhow::Error::msg)?;
        if let Some(theme) = &config.theme {
            crate::console::theme::Theme::named(theme).map_err(anyhow::Error::msg)?;
        }
        Ok(config)
    }

    pub fn key_overrides(&self) -> BTreeMap<String, Vec<String>> {
        self.keys
            .iter()
            .map(|(name, keys)| (name.clone(), keys.keys()))
            .collect()
    }

    /// A server profile by name, or `None` when `name` is not one.
    pub fn server(&self, name: &str) -> Option<&ServerProfile> {
        self.servers.get(name)
    }

    /// The default config file, with every key binding.
    pub fn default_toml() -> String {
        format!(
            "# taskyard console configuration: {path}\n\
             # Every setting is optional; this file shows the defaults.\n\
             \n\
             # Colours: \"dark\" or \"light\". NO_COLOR in the environment turns colour off.\n\
             theme = \"dark\"\n\
             \n\
             # Mouse capture: click selects, the wheel scrolls. false keeps the terminal's\n\
             # own text selection (same as --no-mouse).\n\
             mouse = true\n\
             \n\
             # Key bindings: command = [keys]. A command listed here loses its default keys.\n\
             # Keys: \"q\", \"G\", \"ctrl-c\", \"alt-x\", \"shift-tab\", \"enter\", \"esc\", \"space\",\n\
             # \"up\", \"down\", \"pgup\", \"pgdn\", \"home\", \"end\", \"f1\".. \"f24\".\n\
             [keys]\n\
             {keys}\n\
             # Server profiles: `taskyard console --server prod` connects to the URL with the token.\n\
             # [servers.prod]\n\
             # url = \"http://taskyard.internal:7571\"\n\
             # token = \"...\"\n",
            path = Config::path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "~/.config/taskyard/config.toml".into()),
            keys = crate::console::keymap::default_keys_toml(),
        )
    }
}

/// `taskyard config`.
#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    /// Print the default config file (every setting and key binding).
    #[arg(long)]
    default: bool,
    /// Print where the config file is read from.
    #[arg(long, conflicts_with = "default")]
    path: bool,
}

/// Prints the default config, the path, or checks the current file.
pub fn run(args: ConfigArgs) -> anyhow::Result<()> {
    if args.default {
        print!("{}", Config::default_toml());
        return Ok(());
    }
    let path = Config::path();
    if args.path {
        match &path {
            Some(p) => println!("{}", p.display()),
            None => {
                anyhow::bail!("no home directory: set TASKYARD_CONFIG to the config file's path")
            }
        }
        return Ok(());
    }
    match &path {
        Some(p) if p.exists() => {
            Config::load(Some(p))?;
            println!("{}: valid", p.display());
        }
        Some(p) => println!(
            "{} does not exist: the defaults apply (`taskyard config --default > {}` writes them there)",
            p.display(),
            p.display()
        ),
        None => println!("no home directory: the defaults apply"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_to_the_defaults() {
        let text = Config::default_toml();
        let config = Config::parse(&text).unwrap();
        assert_eq!(config.theme.as_deref(), Some("dark"));
        let map = crate::console::keymap::Keymap::with_overrides(&config.key_overrides()).unwrap();
        for i in crate::console::keymap::COMMANDS {
            let want: Vec<String> = i.keys.iter().map(|k| k.to_string()).collect();
            let got: Vec<String> = config.keys[i.name].keys();
            assert_eq!(got, want, "{}", i.name);
            assert_eq!(map.keys(i.command).len(), i.keys.len());
        }
    }

    #[test]
    fn mistakes_are_refused_with_what_to_do() {
        let err = Config::parse("theme = \"neon\"").unwrap_err();
        assert!(format!("{err:#}").contains("dark, light"), "{err:#}");
        let err = Config::parse("colour = 1").unwrap_err();
        assert!(format!("{err:#}").contains("colour"), "{err:#}");
        let err = Config::parse("[keys]\ncancel = \"hyper-q\"").unwrap_err();
        assert!(format!("{err:#}").contains("hyper-q"), "{err:#}");
        let c = Config::parse("[servers.prod]\nurl = \"http://x:1\"\n").unwrap();
        assert_eq!(c.server("prod").unwrap().url, "http://x:1");
    }
}
