//! Calendar periods such as "6 months" or "8 years", and the moments they start from.
//!
//! Written here rather than taken from `humantime`: retention law counts calendar
//! months and years ("5 years from the end of the financial year"), while duration
//! crates count fixed seconds, which drift by days over a decade.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The unit of a [`Period`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodUnit {
    Hours,
    Days,
    Months,
    Years,
}

/// A calendar period: a positive count of hours, days, months or years.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    count: u32,
    unit: PeriodUnit,
}

impl Period {
    /// A period of `count` units; `count` must be at least 1.
    pub fn new(count: u32, unit: PeriodUnit) -> Option<Period> {
        (count > 0).then_some(Period { count, unit })
    }

    /// The moment this period after `start` ends. Month arithmetic clamps to the last
    /// day of a shorter month (31 Aug + 6 months = 28/29 Feb).
    pub fn after(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        let far_future = DateTime::<Utc>::MAX_UTC;
        match self.unit {
            PeriodUnit::Hours => start
                .checked_add_signed(Duration::hours(i64::from(self.count)))
                .unwrap_or(far_future),
            PeriodUnit::Days => start
                .checked_add_signed(Duration::days(i64::from(self.count)))
                .unwrap_or(far_future),
            PeriodUnit::Months => start
                .checked_add_months(Months::new(self.count))
                .unwrap_or(far_future),
            PeriodUnit::Years => start
                .checked_add_months(Months::new(self.count.saturating_mul(12)))
                .unwrap_or(far_future),
        }
    }

    /// The moment this period before `end` started (for "older than 6 months" cut-offs).
    pub fn before(&self, end: DateTime<Utc>) -> DateTime<Utc> {
        let far_past = DateTime::<Utc>::MIN_UTC;
        match self.unit {
            PeriodUnit::Hours => end
                .checked_sub_signed(Duration::hours(i64::from(self.count)))
                .unwrap_or(far_past),
            PeriodUnit::Days => end
                .checked_sub_signed(Duration::days(i64::from(self.count)))
                .unwrap_or(far_past),
            PeriodUnit::Months => end
                .checked_sub_months(Months::new(self.count))
                .unwrap_or(far_past),
            PeriodUnit::Years => end
                .checked_sub_months(Months::new(self.count.saturating_mul(12)))
                .unwrap_or(far_past),
        }
    }
}

/// The start of the next calendar year after `moment`: where periods counted "from the
/// end of the year" begin.
pub fn end_of_year(moment: DateTime<Utc>) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(moment.year() + 1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Utc.from_utc_datetime(&d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match (self.unit, self.count) {
            (PeriodUnit::Hours, 1) => "hour",
            (PeriodUnit::Hours, _) => "hours",
            (PeriodUnit::Days, 1) => "day",
            (PeriodUnit::Days, _) => "days",
            (PeriodUnit::Months, 1) => "month",
            (PeriodUnit::Months, _) => "months",
            (PeriodUnit::Years, 1) => "year",
            (PeriodUnit::Years, _) => "years",
        };
        write!(f, "{} {unit}", self.count)
    }
}

/// Why a period did not parse.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a period: write a count and a unit, such as \"6 months\", \"8 years\", \"30 days\" or \"48 hours\"")]
pub struct PeriodParseError(String);

impl FromStr for Period {
    type Err = PeriodParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || PeriodParseError(text.to_owned());
        let mut parts = text.split_whitespace();
        let (Some(count), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err());
        };
        let count: u32 = count.parse().map_err(|_| err())?;
        let unit = match unit.to_ascii_lowercase().as_str() {
            "hour" | "hours" => PeriodUnit::Hours,
            "day" | "days" => PeriodUnit::Days,
            "month" | "months" => PeriodUnit::Months,
            "year" | "years" => PeriodUnit::Years,
            _ => return Err(err()),
        };
        Period::new(count, unit).ok_or_else(err)
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0)
            .single()
            .expect("valid date")
    }

    #[test]
    fn six_months_after_august_31_ends_on_the_last_day_of_february() {
        let p: Period = "6 months".parse().expect("parses");
        assert_eq!(p.after(at(2025, 8, 31)), at(2026, 2, 28));
    }

    #[test]
    fn billing_record_from_march_2025_kept_8_years_from_end_of_year_expires_1_january_2034() {
        let p: Period = "8 years".parse().expect("parses");
        let expiry = p.after(end_of_year(at(2025, 3, 14)));
        assert_eq!(expiry, Utc.with_ymd_and_hms(2034, 1, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn periods_without_count_or_with_unknown_unit_or_zero_are_refused() {
        for bad in [
            "",
            "months",
            "6",
            "6 fortnights",
            "0 days",
            "-1 days",
            "6 months ago",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn period_displays_as_it_is_written_in_the_policy_file() {
        let p: Period = "1 month".parse().expect("parses");
        assert_eq!(p.to_string(), "1 month");
        let p: Period = "48 HOURS".parse().expect("parses");
        assert_eq!(p.to_string(), "48 hours");
    }
}
