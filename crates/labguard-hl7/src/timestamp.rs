//! HL7 date/time values (DTM, and the first component of the older TS type).

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc,
};
use thiserror::Error;

/// How much of a timestamp the sender gave. HL7 lets senders stop after any part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// Seconds with a fraction.
    Fraction,
}

/// Why a timestamp was refused (never echoes the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TimestampError {
    #[error("timestamp is empty")]
    Empty,
    #[error("timestamp is not YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]")]
    Format,
    #[error("timestamp names a date or time that does not exist")]
    OutOfRange,
}

/// An HL7 timestamp `YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]`.
///
/// Missing parts are filled with their smallest value (month 1, day 1, 00:00:00) and
/// [`precision`](Hl7Timestamp::precision) records what was actually sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hl7Timestamp {
    /// The local date and time as written.
    pub local: NaiveDateTime,
    /// The UTC offset, when the sender gave one.
    pub offset: Option<FixedOffset>,
    pub precision: Precision,
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Hl7Timestamp {
    /// Parses a timestamp. Surrounding spaces are ignored; anything after a component
    /// separator must already be cut off by the caller (the `TS` type's degree of
    /// precision component is obsolete).
    pub fn parse(s: &str) -> Result<Hl7Timestamp, TimestampError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(TimestampError::Empty);
        }
        if !s.is_ascii() {
            return Err(TimestampError::Format);
        }
        let (body, offset) = match s.find(['+', '-']) {
            Some(p) => (
                s.get(..p).unwrap_or_default(),
                Some(parse_offset(s.get(p..).unwrap_or_default())?),
            ),
            None => (s, None),
        };
        let (main, frac) = match body.split_once('.') {
            Some((m, f)) => (m, Some(f)),
            None => (body, None),
        };
        let part = |a: usize, b: usize| main.get(a..b).and_then(digits);
        let precision = match (main.len(), frac) {
            (4, None) => Precision::Year,
            (6, None) => Precision::Month,
            (8, None) => Precision::Day,
            (10, None) => Precision::Hour,
            (12, None) => Precision::Minute,
            (14, None) => Precision::Second,
            (14, Some(f)) if (1..=9).contains(&f.len()) => Precision::Fraction,
            _ => return Err(TimestampError::Format),
        };
        let year = part(0, 4).ok_or(TimestampError::Format)?;
        let opt = |a, b, dflt| match main.len() > a {
            true => part(a, b).ok_or(TimestampError::Format),
            false => Ok(dflt),
        };
        let (month, day) = (opt(4, 6, 1)?, opt(6, 8, 1)?);
        let (hour, min, sec) = (opt(8, 10, 0)?, opt(10, 12, 0)?, opt(12, 14, 0)?);
        let nanos = match frac {
            Some(f) => {
                let v = digits(f).ok_or(TimestampError::Format)?;
                let scale = 10u32.pow(9u32.saturating_sub(f.len() as u32));
                v.checked_mul(scale).ok_or(TimestampError::Format)?
            }
            None => 0,
        };
        let date =
            NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(TimestampError::OutOfRange)?;
        // from_hms_nano_opt accepts second 59 with nanos ≥ 1e9 as a leap second; HL7
        // has none, so refuse a 60th second.
        let time = NaiveTime::from_hms_nano_opt(hour, min, sec, nanos)
            .filter(|_| sec < 60 && nanos < 1_000_000_000)
            .ok_or(TimestampError::OutOfRange)?;
        Ok(Hl7Timestamp {
            local: NaiveDateTime::new(date, time),
            offset,
            precision,
        })
    }

    /// The calendar date as written, without any time-zone conversion (what a date of
    /// birth means).
    pub fn date(&self) -> NaiveDate {
        self.local.date()
    }

    /// The instant in UTC. Senders often leave out the offset; `default_offset` is used
    /// then (the sender's, usually the lab's, UTC offset).
    pub fn to_utc(&self, default_offset: FixedOffset) -> DateTime<Utc> {
        let off = self.offset.unwrap_or(default_offset);
        let shift = TimeDelta::seconds(i64::from(off.local_minus_utc()));
        self.local
            .checked_sub_signed(shift)
            .unwrap_or(self.local)
            .and_utc()
    }

    /// Formats an instant as `YYYYMMDDHHMMSS+ZZZZ`, the form ACKs and messages use.
    pub fn format(dt: &DateTime<FixedOffset>) -> String {
        let off = dt.offset().local_minus_utc();
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.unsigned_abs() / 60;
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{}{:02}{:02}",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            sign,
            off / 60,
            off % 60
        )
    }
}

fn parse_offset(s: &str) -> Result<FixedOffset, TimestampError> {
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, s.get(1..).unwrap_or_default()),
        Some(b'-') => (-1, s.get(1..).unwrap_or_default()),
        _ => return Err(TimestampError::Format),
    };
    if rest.len() != 4 {
        return Err(TimestampError::Format);
    }
    let h = rest
        .get(..2)
        .and_then(digits)
        .ok_or(TimestampError::Format)?;
    let m = rest
        .get(2..)
        .and_then(digits)
        .ok_or(TimestampError::Format)?;
    if h > 23 || m > 59 {
        return Err(TimestampError::OutOfRange);
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60) as i32).ok_or(TimestampError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(s: &str) -> String {
        let t = Hl7Timestamp::parse(s).unwrap();
        t.to_utc(FixedOffset::east_opt(0).unwrap())
            .format("%Y-%m-%dT%H:%M:%S%.f")
            .to_string()
    }

    #[test]
    fn all_precisions() {
        assert_eq!(utc("2014"), "2014-01-01T00:00:00");
        assert_eq!(utc("201410"), "2014-10-01T00:00:00");
        assert_eq!(utc("20141006"), "2014-10-06T00:00:00");
        assert_eq!(utc("2014100609"), "2014-10-06T09:00:00");
        assert_eq!(utc("201410060929"), "2014-10-06T09:29:00");
        assert_eq!(utc("20141006092915"), "2014-10-06T09:29:15");
        assert_eq!(utc("20141006092915.25"), "2014-10-06T09:29:15.250");
        assert_eq!(utc("20141006092900+0700"), "2014-10-06T02:29:00");
        assert_eq!(utc("201203141259-0215"), "2012-03-14T15:14:00");
        assert_eq!(utc("20210817151943.4+0200"), "2021-08-17T13:19:43.400");
        let t = Hl7Timestamp::parse("20190411101633+0215").unwrap();
        assert_eq!(t.date(), NaiveDate::from_ymd_opt(2019, 4, 11).unwrap());
        assert_eq!(t.precision, Precision::Second);
    }

    #[test]
    fn refuses_bad_values() {
        use TimestampError::*;
        for (s, e) in [
            ("", Empty),
            ("  ", Empty),
            ("201", Format),
            ("2014100", Format),
            ("2014-10-06", Format),
            ("20141006+07", Format),
            ("2014100609.5", Format),
            ("2010201200+0215", OutOfRange),
            ("20140230", OutOfRange),
            ("20141006250000", OutOfRange),
            ("20141006235960", OutOfRange),
            ("20141006+2400", OutOfRange),
            ("2014١٠", Format),
        ] {
            assert_eq!(Hl7Timestamp::parse(s), Err(e), "{s:?}");
        }
    }

    #[test]
    fn formats_for_messages() {
        let off = FixedOffset::west_opt(2 * 3600 + 15 * 60).unwrap();
        let dt = off.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        let s = Hl7Timestamp::format(&dt);
        assert_eq!(s, "20240102030405-0215");
        assert_eq!(Hl7Timestamp::parse(&s).unwrap().to_utc(off), dt);
    }
}
