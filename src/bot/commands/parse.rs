//! Reading a message at the edge: which command (looked up in
//! [`super::COMMANDS`]) and the text of its arguments, which the command's
//! own file parses into its typed arguments, once.

use super::{Spec, find};

/// A command as typed: which one, and the text after it.
#[derive(Clone)]
pub struct Invocation {
    /// The command.
    pub spec: &'static Spec,
    /// Its arguments, trimmed (empty when none).
    pub args: String,
}

impl Invocation {
    /// The command's fixed name, for metrics and logs (never user text).
    pub fn name(&self) -> &'static str {
        self.spec.name
    }
}

impl PartialEq for Invocation {
    fn eq(&self, other: &Self) -> bool {
        // A name is unique in the table: the same name is the same command.
        self.spec.name == other.spec.name && self.args == other.args
    }
}

impl Eq for Invocation {}

impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("command", &self.spec.name)
            .field("args", &self.args)
            .finish()
    }
}

/// What a message is, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// One of our commands.
    Command(Invocation),
    /// A command we do not have (`/foo`).
    Unknown,
    /// A command addressed to another bot (`/help@other_bot` in a group).
    OtherBot,
    /// Plain text, or a message without text.
    Text,
}

/// Read a message's text. Commands are matched case-insensitively (phone
/// keyboards capitalise the first letter), `@our_bot` suffixes are
/// accepted (compared case-insensitively), and any whitespace separates
/// the command from its arguments. A command for another bot is
/// recognised before the command itself: `/anything@other_bot` is not
/// ours, whatever it is.
pub fn parse_input(text: Option<&str>, bot_username: &str) -> Input {
    let Some(text) = text.map(str::trim_start) else {
        return Input::Text;
    };
    let Some(line) = text.strip_prefix('/') else {
        return Input::Text;
    };
    let (word, rest) = match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim()),
        None => (line, ""),
    };
    let (command, bot) = match word.split_once('@') {
        // Only the first name after '@' counts (`/help@a@b` is for `a`).
        Some((command, names)) => (command, names.split('@').next().unwrap_or_default()),
        None => (word, ""),
    };
    // `/screen@` names no bot at all: it is ours.
    if !bot.is_empty() && !bot.eq_ignore_ascii_case(bot_username) {
        return Input::OtherBot;
    }
    match find(&command.to_lowercase()) {
        Some(spec) => Input::Command(Invocation {
            spec,
            args: rest.to_string(),
        }),
        None => Input::Unknown,
    }
}

/// An argument that cannot be used: the reply is the command's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadArgs;

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(text: &str) -> Input {
        parse_input(Some(text), "dipwatch_bot")
    }

    fn command(name: &str, args: &str) -> Input {
        Input::Command(Invocation {
            spec: find(name).unwrap(),
            args: args.into(),
        })
    }

    #[test]
    fn commands_parse_with_arguments_aliases_and_bot_name() {
        assert_eq!(cmd("/start"), command("start", ""));
        assert_eq!(cmd("/daily"), command("dashboard", ""));
        assert_eq!(cmd("/Dashboard"), command("dashboard", ""));
        assert_eq!(cmd("/screen 25"), command("screen", "25"));
        assert_eq!(cmd("/screen"), command("screen", ""));
        assert_eq!(
            cmd("  /symbol@DipWatch_Bot\n bf.b  "),
            command("symbol", "bf.b")
        );
        assert_eq!(cmd("/download bars 5"), command("download", "bars 5"));
        assert_eq!(cmd("/help@other_bot"), Input::OtherBot);
        assert_eq!(cmd("/frobnicate@other_bot"), Input::OtherBot);
        assert_eq!(cmd("/screen@ 3"), command("screen", "3"));
        assert_eq!(cmd("/help@"), command("help", ""));
        assert_eq!(cmd("/frobnicate"), Input::Unknown);
        assert_eq!(cmd("/"), Input::Unknown);
        assert_eq!(cmd("hello /help"), Input::Text);
        assert_eq!(parse_input(None, "dipwatch_bot"), Input::Text);
    }
}
