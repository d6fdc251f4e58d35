//! Well-known commands and the projects that own them, for spotting a package whose console script
//! shadows another project's command (`aws`, `pip`, `django-admin`, …) or a system command.

use std::collections::HashMap;

/// The shipped seed (see `data/commands.tsv` for its source).
const SEED: &str = include_str!("../data/commands.tsv");

/// Who may install a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// This project (normalized name).
    Project(String),
    /// No project: the interpreter (`python`) or an operating-system command (`git`, `sudo`).
    Reserved(String),
}

/// A map from command name to its owner. Starts from the seed; a registry adds what it learns
/// from the wheels it stores.
#[derive(Debug, Clone)]
pub struct CommandMap {
    owners: HashMap<String, Owner>,
}

impl Default for CommandMap {
    fn default() -> Self {
        let owners = SEED
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split_once('\t'))
            .map(|(command, owner)| {
                let owner = match owner.trim() {
                    reserved @ ("(python)" | "(system)") => {
                        Owner::Reserved(reserved.trim_matches(['(', ')']).to_owned())
                    }
                    project => Owner::Project(picket_formats::normalize(project)),
                };
                (command.trim().to_owned(), owner)
            })
            .collect();
        Self { owners }
    }
}

impl CommandMap {
    /// Records that `project` installs `command`, unless the command already has an owner.
    pub fn learn(&mut self, command: &str, project: &str) {
        self.owners
            .entry(command.to_owned())
            .or_insert_with(|| Owner::Project(picket_formats::normalize(project)));
    }

    /// The owner of `command`, if known.
    pub fn owner(&self, command: &str) -> Option<&Owner> {
        self.owners.get(command)
    }

    /// If `project` installing `command` shadows someone else's command, whose.
    pub fn shadowed_by(&self, command: &str, project: &str) -> Option<&Owner> {
        let project = picket_formats::normalize(project);
        self.owner(command).filter(|owner| match owner {
            Owner::Project(owner) => *owner != project,
            Owner::Reserved(_) => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_seed_and_who_may_install_what() {
        let mut map = CommandMap::default();
        assert_eq!(map.owner("aws"), Some(&Owner::Project("awscli".into())));
        assert!(map.shadowed_by("aws", "awscli").is_none());
        assert!(map.shadowed_by("aws", "aws-helper").is_some());
        assert!(map.shadowed_by("pip", "pip").is_none());
        assert_eq!(
            map.shadowed_by("python", "anything"),
            Some(&Owner::Reserved("python".into()))
        );
        assert!(map.shadowed_by("my-tool", "x").is_none());
        map.learn("my-tool", "My_Tool");
        assert!(map.shadowed_by("my-tool", "my-tool").is_none());
        assert!(map.shadowed_by("my-tool", "other").is_some());
    }
}
