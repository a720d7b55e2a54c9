//! Reading Amp's balance text (`userDisplayBalanceInfo`), which is written for people:
//!
//! ```text
//! Amp Free: $17.59/$20 remaining (replenishes +$0.83/hour)
//! Individual credits: $50 remaining
//! ```
//!
//! and sometimes `Amp Free: 45% remaining today`, which has no dollar figure at all.

use serde::{Deserialize, Serialize};

/// One line of the balance text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalanceLine {
    /// What the line is about (`Amp Free`, `Individual credits`).
    pub label: String,
    /// Dollars remaining, when the line names them.
    pub remaining: Option<f64>,
    /// Dollars in total, when the line names them (`$17.59/$20`).
    pub total: Option<f64>,
    /// Percent remaining, for the `45% remaining today` form.
    pub percent: Option<f64>,
    /// The line as Amp wrote it.
    pub text: String,
}

/// Parses every line that says what remains.
pub fn parse(display_text: &str) -> Vec<BalanceLine> {
    display_text
        .lines()
        .map(str::trim)
        .filter(|line| line.to_lowercase().contains("remaining"))
        .map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> BalanceLine {
    let (label, rest) = match line.split_once(':') {
        Some((label, rest)) => (label.trim().to_string(), rest),
        None => (String::new(), line),
    };
    let before = rest.to_lowercase();
    let cut = before.find("remaining").unwrap_or(rest.len());
    let head = &rest[..cut];
    let dollars = amounts_after(head, '$');
    let percent = head
        .split_whitespace()
        .find_map(|word| word.strip_suffix('%').and_then(|n| n.parse::<f64>().ok()));
    BalanceLine {
        label,
        remaining: dollars.first().copied(),
        total: dollars.get(1).copied(),
        percent,
        text: line.to_string(),
    }
}

/// Every number that follows `sign` in `text` (`$1,234.50` reads as 1234.5).
fn amounts_after(text: &str, sign: char) -> Vec<f64> {
    let mut amounts = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(sign) {
        rest = &rest[at + sign.len_utf8()..];
        let number: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
            .filter(|c| *c != ',')
            .collect();
        if let Ok(value) = number.trim_end_matches('.').parse::<f64>() {
            amounts.push(value);
        }
    }
    amounts
}

/// Balance and total in dollars over every line with a dollar figure; `None` when no line has
/// one. A line without a total counts its remaining amount as its total.
pub fn totals(lines: &[BalanceLine]) -> Option<(f64, f64)> {
    let with_dollars: Vec<&BalanceLine> = lines.iter().filter(|l| l.remaining.is_some()).collect();
    if with_dollars.is_empty() {
        return None;
    }
    let balance = with_dollars.iter().filter_map(|l| l.remaining).sum();
    let total = with_dollars
        .iter()
        .map(|l| l.total.or(l.remaining).unwrap_or(0.0))
        .sum();
    Some((balance, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_lines_give_balance_and_total() {
        let lines = parse(
            "Signed in as a@b.c\nAmp Free: $17.59/$20 remaining (replenishes +$0.83/hour)\nIndividual credits: $50 remaining",
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].label, "Amp Free");
        assert_eq!(
            (lines[0].remaining, lines[0].total),
            (Some(17.59), Some(20.0))
        );
        assert_eq!((lines[1].remaining, lines[1].total), (Some(50.0), None));
        let (balance, total) = totals(&lines).expect("has dollars");
        assert!((balance - 67.59).abs() < 1e-9 && (total - 70.0).abs() < 1e-9);
    }

    #[test]
    fn the_percent_form_has_no_dollars() {
        let lines = parse("Amp Free: 45% remaining today");
        assert_eq!(lines[0].percent, Some(45.0));
        assert_eq!(lines[0].remaining, None);
        assert_eq!(totals(&lines), None);
    }

    #[test]
    fn thousands_separators_are_read() {
        let lines = parse("Team credits: $1,234.50 remaining");
        assert_eq!(lines[0].remaining, Some(1234.5));
    }

    proptest::proptest! {
        #[test]
        fn any_display_text_parses_without_panicking(text in "\\PC*") {
            let lines = parse(&text);
            let _ = totals(&lines);
        }

        #[test]
        fn dollar_like_text_parses_without_panicking(text in "[$/0-9.,+ %a-z\n-]{0,200}") {
            let lines = parse(&text);
            let _ = totals(&lines);
        }
    }
}
