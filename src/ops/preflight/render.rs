//! The checklist as text: one aligned line per check, `pass`/`warn`/`fail` first, the
//! observed value, then (unless it passed) what to do; a summary and the notes last.

use std::fmt;

use super::{CheckLine, PreflightReport, Status};

/// One check on one line, as the daemon prints its failing lines.
pub fn line_text(l: &CheckLine) -> String {
    format!(
        "{:<4}  {}: {} — {}",
        l.status.as_str(),
        l.name,
        l.observed,
        l.detail
    )
}

impl fmt::Display for PreflightReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "sluice preflight: {}", self.venue)?;
        let width = self.lines.iter().map(|l| l.name.len()).max().unwrap_or(0);
        for l in &self.lines {
            write!(
                f,
                "{:<4}  {:<width$}  {}",
                l.status.as_str(),
                l.name,
                l.observed
            )?;
            if l.status != Status::Pass {
                write!(f, "\n      {:<width$}  -> {}", "", l.detail)?;
            }
            writeln!(f)?;
        }
        let count = |s: Status| self.lines.iter().filter(|l| l.status == s).count();
        writeln!(
            f,
            "{} pass, {} warn, {} fail: {}",
            count(Status::Pass),
            count(Status::Warn),
            count(Status::Fail),
            if self.passed() {
                "ready to trade"
            } else {
                "NOT ready to trade"
            }
        )?;
        for n in &self.notes {
            write!(f, "\nnote: {n}")?;
        }
        Ok(())
    }
}
