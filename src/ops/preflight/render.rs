//! The checklist as text: one aligned line per check, `pass`/`warn`/`fail` first, the
//! observed value, then (unless it passed) what to do; a summary and the notes last.

use std::fmt;

use super::{PreflightReport, Status};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::preflight::CheckLine;

    fn l(name: &str, status: Status, observed: &str) -> CheckLine {
        CheckLine {
            name: name.into(),
            status,
            observed: observed.into(),
            detail: format!("what to do about {name}"),
            cause: crate::ops::preflight::Cause::Configuration,
        }
    }

    #[test]
    fn only_lines_that_did_not_pass_say_what_to_do_and_the_summary_counts_each_verdict() {
        let report = PreflightReport {
            venue: "http://sim/".into(),
            lines: vec![
                l("api_key", Status::Pass, "accepted"),
                l("clock_offset", Status::Warn, "+600 ms (local - server)"),
                l("balance", Status::Fail, "5 USDT available"),
            ],
            notes: vec!["a note".into()],
        };
        let text = report.to_string();
        assert!(!text.contains("what to do about api_key"), "{text}");
        assert!(text.contains("-> what to do about clock_offset"), "{text}");
        assert!(text.contains("-> what to do about balance"), "{text}");
        assert!(
            text.contains("1 pass, 1 warn, 1 fail: NOT ready to trade"),
            "{text}"
        );
        assert!(text.ends_with("note: a note"), "{text}");
        let failed = text
            .lines()
            .find(|x| x.starts_with("fail"))
            .expect("a fail line");
        assert!(
            failed.contains(" balance ") && failed.ends_with("5 USDT available"),
            "{failed}"
        );
    }
}
