//! Working days and statutory deadlines: England-and-Wales bank holidays (shipped as data,
//! `data/bank-holidays-england-and-wales.txt`, replaceable by a file of the same form in the
//! app-data folder without a code change) and the SAR due date (UK GDPR Art. 12(3)).

use chrono::{Datelike, Months, NaiveDate, Weekday};
use std::collections::BTreeSet;

const SHIPPED: &str = include_str!("../data/bank-holidays-england-and-wales.txt");

/// The bank-holiday table in force: the app-data override if present, else the shipped one.
pub fn bank_holidays() -> BTreeSet<NaiveDate> {
    let over = crate::device::data_root()
        .ok()
        .and_then(|d| std::fs::read_to_string(d.join("bank-holidays-england-and-wales.txt")).ok());
    parse(over.as_deref().unwrap_or(SHIPPED))
}

/// Parse `YYYY-MM-DD name` lines (`#` comments and blank lines ignored; bad lines skipped).
pub fn parse(text: &str) -> BTreeSet<NaiveDate> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| NaiveDate::parse_from_str(l.split_whitespace().next()?, "%Y-%m-%d").ok())
        .collect()
}

pub fn is_working_day(d: NaiveDate, holidays: &BTreeSet<NaiveDate>) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&d)
}

/// The first working day on or after `d`.
pub fn next_working_day(mut d: NaiveDate, holidays: &BTreeSet<NaiveDate>) -> NaiveDate {
    while !is_working_day(d, holidays) {
        d = d.succ_opt().expect("far from the end of time");
    }
    d
}

/// `months` calendar months after `received`, to the corresponding date (or the last day of a
/// shorter month), moved to the next working day.
pub fn months_later_working(
    received: NaiveDate,
    months: u32,
    holidays: &BTreeSet<NaiveDate>,
) -> NaiveDate {
    let d = received
        .checked_add_months(Months::new(months))
        .expect("far from the end of time");
    next_working_day(d, holidays)
}

/// A subject access request's statutory due date: one calendar month after receipt.
pub fn sar_due(received: NaiveDate, holidays: &BTreeSet<NaiveDate>) -> NaiveDate {
    months_later_working(received, 1, holidays)
}

/// The latest an extended SAR may be due: three calendar months after receipt.
pub fn sar_latest_extended(received: NaiveDate, holidays: &BTreeSet<NaiveDate>) -> NaiveDate {
    months_later_working(received, 3, holidays)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn sar_deadlines_follow_the_ico_rules() {
        let h = parse(SHIPPED);
        // Received 3 September 2025 (Wed) -> 3 October 2025 (Fri).
        assert_eq!(sar_due(d("2025-09-03"), &h), d("2025-10-03"));
        // 31 January -> last day of February (2025: Fri 28th).
        assert_eq!(sar_due(d("2025-01-31"), &h), d("2025-02-28"));
        // 2024 is a leap year: 31 Jan -> Thu 29 Feb.
        assert_eq!(sar_due(d("2024-01-31"), &h), d("2024-02-29"));
        // Falls on a Saturday -> Monday: received 4 Oct 2025 -> 4 Nov is Tue... use 1 Feb 2025 -> Sat 1 Mar -> Mon 3 Mar.
        assert_eq!(sar_due(d("2025-02-01"), &h), d("2025-03-03"));
        // Falls on Christmas Day 2025 (Thu) -> Boxing Day is a holiday too -> Mon 29 Dec.
        assert_eq!(sar_due(d("2025-11-25"), &h), d("2025-12-29"));
        // Falls on Easter Monday 2025 (21 April) -> Tue 22 April.
        assert_eq!(sar_due(d("2025-03-21"), &h), d("2025-04-22"));
        // Falls on the 2022 State Funeral (Mon 19 Sept) -> Tue 20 Sept.
        assert_eq!(sar_due(d("2022-08-19"), &h), d("2022-09-20"));
        // Extension limit: three months.
        assert_eq!(sar_latest_extended(d("2025-09-03"), &h), d("2025-12-03"));
    }

    #[test]
    fn the_table_has_the_one_off_changes() {
        let h = parse(SHIPPED);
        for day in [
            "2020-05-08",
            "2022-06-02",
            "2022-06-03",
            "2022-09-19",
            "2023-05-08",
            "2021-12-27",
            "2021-12-28",
        ] {
            assert!(h.contains(&d(day)), "{day}");
        }
        assert!(
            !h.contains(&d("2020-05-04")),
            "2020's early May holiday moved to the 8th"
        );
        assert!(
            !h.contains(&d("2022-05-30")),
            "2022's spring holiday moved to 2 June"
        );
    }
}
