//! The y/N confirmation of `c`, `x` and `D` (SPEC §9): default No, names how many tasks
//! and which, `!` sets `ignore`.

use super::tasks::Targets;
use taskyard_core::api::Action;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmKind {
    Cancel,
    Clean,
    Destroy,
}

impl ConfirmKind {
    pub fn verb(self) -> &'static str {
        match self {
            ConfirmKind::Cancel => "Cancel",
            ConfirmKind::Clean => "Clean",
            ConfirmKind::Destroy => "Destroy",
        }
    }

    /// What `ignore` means for this action, if it has one.
    pub fn ignore_help(self) -> Option<&'static str> {
        match self {
            ConfirmKind::Cancel => Some("skip concluded tasks instead of refusing"),
            ConfirmKind::Clean => Some("skip tasks not concluded instead of refusing"),
            ConfirmKind::Destroy => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    pub kind: ConfirmKind,
    pub targets: Targets,
    pub ignore: bool,
}

impl Confirm {
    pub fn action(&self) -> Action {
        let tasks = self.targets.refs.clone();
        match self.kind {
            ConfirmKind::Cancel => Action::Cancel {
                tasks,
                ignore: self.ignore,
            },
            ConfirmKind::Clean => Action::Clean {
                tasks,
                ignore: self.ignore,
            },
            ConfirmKind::Destroy => Action::Destroy { tasks },
        }
    }

    pub fn question(&self) -> String {
        format!("{} {}?", self.kind.verb(), self.targets.describe())
    }
}
