//! `--config FILE` (or `LABGUARD_CONFIG`): every command-line flag also settable in a TOML
//! file, as a packaged service wants (`/etc/labguard/labguard.toml` under systemd).
//!
//! Top-level keys are the global flags (`data-dir`, `database`, …); a table per subcommand
//! holds that command's flags (`[serve]`, `[devices.enroll]`). Keys are the long flag names.
//! The file is turned into command-line arguments appended after what was typed, so clap
//! validates it exactly as it validates flags, and precedence is: the command line, then
//! the flag's environment variable, then the file. An unknown key is an error naming the
//! file and table, never silently ignored: a mistyped `max-conections` must not leave a
//! limit at its default unnoticed. Nothing is read unless a file is named.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{ArgAction, Command};

/// Largest config file read: a settings file, not a data file.
const MAX_BYTES: u64 = 256 * 1024;

/// The config file named by `--config FILE`, `--config=FILE` or `LABGUARD_CONFIG`.
pub fn named(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            break;
        }
        if s == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    std::env::var_os("LABGUARD_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `args` with the file's settings appended (flags already given, or whose environment
/// variable is set, are left as typed).
pub fn apply(cmd: &Command, args: Vec<OsString>, file: &Path) -> Result<Vec<OsString>> {
    let text = read_bounded(file)?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{}: not valid TOML", file.display()))?;
    let extra = expand(cmd, &args, &table, &|name| std::env::var_os(name).is_some())
        .with_context(|| format!("in {}", file.display()))?;
    let mut out = args;
    out.extend(extra);
    Ok(out)
}

fn read_bounded(file: &Path) -> Result<String> {
    use std::io::Read;
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut text = String::new();
    f.take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", file.display()))?;
    if text.len() as u64 > MAX_BYTES {
        bail!("{}: larger than {MAX_BYTES} bytes", file.display());
    }
    Ok(text)
}

/// The arguments the table adds for the subcommand path `args` names. `env_set` tells
/// whether an environment variable is set (a parameter, so tests need no process env).
pub fn expand(
    cmd: &Command,
    args: &[OsString],
    table: &toml::Table,
    env_set: &dyn Fn(&str) -> bool,
) -> Result<Vec<OsString>> {
    let path = subcommand_path(cmd, args);
    let typed: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut out = Vec::new();
    // Walk down: the top table, then [serve], then [devices.enroll]'s parts.
    let mut chain: Vec<&Command> = vec![cmd];
    let mut here = Some(table);
    let mut where_ = String::from("the top level");
    for depth in 0..=path.len() {
        let Some(t) = here else { break };
        let leaf = chain.last().copied().unwrap_or(cmd);
        let next_name = path.get(depth).map(String::as_str);
        for (key, value) in t {
            if let Some(sub) = leaf.find_subcommand(key) {
                if !value.is_table() {
                    bail!("[{key}] must be a table of {} flags", sub.get_name());
                }
                continue;
            }
            let arg = chain
                .iter()
                .rev()
                .flat_map(|c| c.get_arguments())
                .find(|a| a.get_long() == Some(key.as_str()))
                .with_context(|| format!("unknown setting {key:?} at {where_}"))?;
            if key == "config" {
                bail!("\"config\" cannot be set from a config file");
            }
            let flag = format!("--{key}");
            let given = typed
                .iter()
                .any(|a| a == &flag || a.starts_with(&format!("{flag}=")));
            let from_env = arg.get_env().is_some_and(|e| env_set(&e.to_string_lossy()));
            if given || from_env {
                continue;
            }
            push_value(&mut out, &flag, key, value, arg.get_action())?;
        }
        here = next_name
            .and_then(|n| t.get(n))
            .and_then(toml::Value::as_table);
        if let Some(n) = next_name {
            let Some(sub) = leaf.find_subcommand(n) else {
                break;
            };
            chain.push(sub);
            where_ = format!("[{}]", path.get(..=depth).unwrap_or_default().join("."));
        }
    }
    Ok(out)
}

fn push_value(
    out: &mut Vec<OsString>,
    flag: &str,
    key: &str,
    value: &toml::Value,
    action: &ArgAction,
) -> Result<()> {
    match (action, value) {
        (ArgAction::SetTrue, toml::Value::Boolean(true)) => out.push(flag.into()),
        (ArgAction::SetTrue, toml::Value::Boolean(false)) => {}
        (ArgAction::SetTrue, _) => bail!("{key:?} is a switch: write true or false"),
        (_, toml::Value::Array(items)) => {
            for v in items {
                out.push(format!("{flag}={}", scalar(key, v)?).into());
            }
        }
        (_, v) => out.push(format!("{flag}={}", scalar(key, v)?).into()),
    }
    Ok(())
}

fn scalar(key: &str, v: &toml::Value) -> Result<String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        _ => bail!("{key:?} must be a string, number or boolean (or a list of them)"),
    })
}

/// The subcommand names `args` walks down (`["devices", "enroll"]`): tokens that name a
/// subcommand of the one reached so far; flags and their values are skipped over.
fn subcommand_path(cmd: &Command, args: &[OsString]) -> Vec<String> {
    let mut path = Vec::new();
    let mut here = cmd;
    for a in args.iter().skip(1) {
        let s = a.to_string_lossy();
        if s == "--" {
            break;
        }
        if s.starts_with('-') {
            continue;
        }
        if let Some(sub) = here.find_subcommand(s.as_ref()) {
            path.push(sub.get_name().to_string());
            here = sub;
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn cli() -> Command {
        Command::new("labguard")
            .arg(
                Arg::new("data-dir")
                    .long("data-dir")
                    .global(true)
                    .env("LG_DATA"),
            )
            .arg(Arg::new("config").long("config").global(true))
            .subcommand(
                Command::new("serve")
                    .arg(Arg::new("listen").long("listen"))
                    .arg(
                        Arg::new("server-name")
                            .long("server-name")
                            .action(ArgAction::Append),
                    )
                    .arg(Arg::new("demo").long("demo").action(ArgAction::SetTrue)),
            )
            .subcommand(
                Command::new("devices")
                    .subcommand(Command::new("enroll").arg(Arg::new("protocol").long("protocol"))),
            )
    }

    fn run(argv: &[&str], toml: &str, env: bool) -> Result<Vec<String>> {
        let args: Vec<OsString> = argv.iter().map(OsString::from).collect();
        let t: toml::Table = toml.parse()?;
        Ok(expand(&cli(), &args, &t, &|_| env)?
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect())
    }

    const FILE: &str = r#"
data-dir = "/var/lib/labguard"
[serve]
listen = "0.0.0.0:8443"
server-name = ["lab.example", "10.0.0.5"]
demo = false
[devices.enroll]
protocol = "astm"
"#;

    #[test]
    fn settings_of_the_command_run_become_flags() {
        let got = run(&["labguard", "serve"], FILE, false).unwrap();
        assert_eq!(
            got,
            [
                "--data-dir=/var/lib/labguard",
                "--listen=0.0.0.0:8443",
                "--server-name=lab.example",
                "--server-name=10.0.0.5"
            ]
        );
        let got = run(&["labguard", "devices", "enroll", "an-1"], FILE, false).unwrap();
        assert_eq!(got, ["--data-dir=/var/lib/labguard", "--protocol=astm"]);
    }

    #[test]
    fn the_command_line_and_the_environment_win() {
        let got = run(
            &["labguard", "serve", "--listen", "127.0.0.1:1"],
            FILE,
            false,
        )
        .unwrap();
        assert!(!got.iter().any(|a| a.starts_with("--listen")), "{got:?}");
        let got = run(&["labguard", "serve"], FILE, true).unwrap();
        assert!(!got.iter().any(|a| a.starts_with("--data-dir")), "{got:?}");
    }

    #[test]
    fn unknown_or_mistyped_settings_are_errors() {
        let e = run(
            &["labguard", "serve"],
            "[serve]\nmax-conections = 5\n",
            false,
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("max-conections"), "{e:#}");
        let e = run(&["labguard", "serve"], "listen = \"x\"\n", false).unwrap_err();
        assert!(format!("{e:#}").contains("unknown setting"), "{e:#}");
        assert!(run(&["labguard", "serve"], "[serve]\ndemo = \"yes\"\n", false).is_err());
        assert!(run(&["labguard", "serve"], "serve = 1\n", false).is_err());
        assert!(run(&["labguard", "serve"], "config = \"/x\"\n", false).is_err());
    }

    #[test]
    fn the_config_file_is_found_on_the_command_line() {
        let a = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            named(&a(&["labguard", "--config", "/etc/l.toml", "serve"])),
            Some(PathBuf::from("/etc/l.toml"))
        );
        assert_eq!(
            named(&a(&["labguard", "serve", "--config=/x.toml"])),
            Some(PathBuf::from("/x.toml"))
        );
    }
}
