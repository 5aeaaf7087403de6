//! Network namespaces and the commands run in them.
//!
//! Guarantees: every command that fails is an error naming the command and
//! what it printed on stderr; a [`Namespace`] is deleted when dropped; names
//! carry the process id, so concurrent labs never share a namespace, and
//! [`remove_stale`] only removes namespaces of lab processes that are gone.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

/// Every lab namespace name starts with this, then `<pid>-`.
pub const PREFIX: &str = "islab";

/// Runs `program args…` and returns its stdout; a non-zero exit is an error.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{program}`"))?;
    check(program, args, &out)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn check(program: &str, args: &[&str], out: &Output) -> Result<()> {
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// True when `program` can be found on PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// One network namespace, deleted on drop.
#[derive(Debug)]
pub struct Namespace {
    pub name: String,
}

impl Namespace {
    /// Creates the namespace with its loopback up.
    pub fn create(name: &str) -> Result<Namespace> {
        run("ip", &["netns", "add", name])?;
        let ns = Namespace {
            name: name.to_owned(),
        };
        ns.ip("link set lo up")?;
        Ok(ns)
    }

    /// `ip -n <ns> <args>`; `args` is split on whitespace.
    pub fn ip(&self, args: &str) -> Result<String> {
        let mut argv = vec!["-n", self.name.as_str()];
        argv.extend(args.split_whitespace());
        run("ip", &argv)
    }

    /// Runs a program inside the namespace and returns its output, whatever
    /// its exit status.
    pub fn output(&self, argv: &[&str]) -> Result<Output> {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(argv)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run `{}` in {}", argv.join(" "), self.name))
    }

    /// Runs a program inside the namespace; a non-zero exit is an error.
    pub fn exec(&self, argv: &[&str]) -> Result<String> {
        let out = self.output(argv)?;
        check(argv[0], &argv[1..], &out).with_context(|| format!("in namespace {}", self.name))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Sets `key` (dotted, as `sysctl` takes it) to `value` in this namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        // /proc/sys/net is per namespace: write it from inside.
        self.exec(&["sh", "-c", &format!("echo {value} > {path}")])?;
        Ok(())
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "delete", &self.name]);
    }
}

/// Deletes lab namespaces left behind by lab processes that no longer run
/// (a test run that was killed before its guards could clean up).
pub fn remove_stale() {
    let Ok(list) = run("ip", &["netns", "list"]) else {
        return;
    };
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run("ip", &["netns", "delete", name]);
        }
    }
}
