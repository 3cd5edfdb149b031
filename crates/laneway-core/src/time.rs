//! Time as the API shows it: RFC 3339, UTC, always three fractional digits and `Z`.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

pub type Timestamp = OffsetDateTime;

/// Now, truncated to whole milliseconds so what we store is exactly what we show.
pub fn now() -> Timestamp {
    truncate_ms(OffsetDateTime::now_utc())
}

/// Drops sub-millisecond precision and normalises to UTC.
pub fn truncate_ms(t: Timestamp) -> Timestamp {
    let t = t.to_offset(UtcOffset::UTC);
    let ms = t.millisecond();
    t.replace_nanosecond(u32::from(ms) * 1_000_000).unwrap_or(t)
}

/// `2026-03-14T18:30:00.000Z`. Fixed width, so the text sorts like the instant.
pub fn format_ts(t: Timestamp) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000Z"))
}

/// Parses any RFC 3339 instant (offsets allowed) into UTC milliseconds.
pub fn parse_ts(s: &str) -> Option<Timestamp> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    // An instant whose UTC form falls outside years 1..=9999 (`9999-12-31T23:00:00-05:00`)
    // has no UTC timestamp: not an instant we accept.
    t.checked_to_offset(UtcOffset::UTC)
        .filter(|u| (1..=9999).contains(&u.year()))
        .map(truncate_ms)
}

/// `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    let fmt = format_description!("[year]-[month]-[day]");
    d.format(&fmt).unwrap_or_default()
}

/// Parses `YYYY-MM-DD`; also accepts a full RFC 3339 instant and keeps its UTC date, since
/// the Kanvo reference calls due dates "ISO 8601".
pub fn parse_date(s: &str) -> Option<Date> {
    let fmt = format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt)
        .ok()
        .or_else(|| parse_ts(s).map(|t| t.date()))
}

/// Serde helpers for timestamps in the API format.
pub mod serde_ts {
    use super::*;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_ts(*t))
    }

    pub mod option {
        use super::*;
        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&format_ts(*t)),
                None => s.serialize_none(),
            }
        }
    }
}

/// Serde helper for optional dates.
pub mod serde_date_opt {
    use super::*;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format_date(*d)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn out_of_range_instants_are_refused_not_a_panic() {
        assert_eq!(super::parse_ts("9999-12-31T23:00:00-05:00"), None);
        assert_eq!(super::parse_ts("0001-01-01T00:30:00+01:00"), None);
        assert!(super::parse_ts("9999-12-31T23:00:00+05:00").is_some());
    }

    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        let t = parse_ts("2026-03-14T18:30:00.123456+02:00").unwrap();
        assert_eq!(format_ts(t), "2026-03-14T16:30:00.123Z");
        let t = parse_ts("2026-03-14T18:30:00Z").unwrap();
        assert_eq!(format_ts(t), "2026-03-14T18:30:00.000Z");
    }

    #[test]
    fn dates() {
        assert_eq!(format_date(parse_date("2026-06-30").unwrap()), "2026-06-30");
        assert_eq!(
            format_date(parse_date("2026-06-30T23:00:00-02:00").unwrap()),
            "2026-07-01"
        );
        assert!(parse_date("2026-13-01").is_none());
        assert!(parse_date("tomorrow").is_none());
    }
}

/// A workspace time zone (an IANA name such as `Europe/Berlin`, or `UTC`): what `today`,
/// `sow` and `som` in filters mean. Day boundaries follow the zone's rules on each day, so a
/// week that crosses a daylight-saving change still starts at local midnight.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".into(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// A zone by its IANA name (case-insensitive, as the database allows); `None` if unknown.
    pub fn named(name: &str) -> Option<Zone> {
        if name.is_empty() || name.len() > 64 {
            return None;
        }
        let tz = jiff::tz::TimeZone::get(name).ok()?;
        let canonical = tz.iana_name().unwrap_or(name).to_string();
        Some(Zone {
            name: canonical,
            tz,
        })
    }

    /// A fixed offset from UTC (tests, and zones given as offsets).
    pub fn fixed(offset: UtcOffset) -> Zone {
        let secs = offset.whole_seconds();
        let tz = jiff::tz::Offset::from_seconds(secs)
            .map(jiff::tz::TimeZone::fixed)
            .unwrap_or(jiff::tz::TimeZone::UTC);
        Zone {
            name: offset.to_string(),
            tz,
        }
    }

    /// The IANA name (canonical spelling).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The local calendar date at the instant `t`.
    pub fn date_at(&self, t: OffsetDateTime) -> Option<Date> {
        let ts = jiff::Timestamp::from_nanosecond(t.unix_timestamp_nanos()).ok()?;
        let d = ts.to_zoned_datetime(self.tz.clone()).date();
        let month = time::Month::try_from(u8::try_from(d.month()).ok()?).ok()?;
        Date::from_calendar_date(i32::from(d.year()), month, u8::try_from(d.day()).ok()?).ok()
    }

    /// The instant the local day `d` begins (midnight, or the first instant after a gap).
    pub fn day_start(&self, d: Date) -> Option<OffsetDateTime> {
        let date = jiff::civil::Date::new(
            i16::try_from(d.year()).ok()?,
            i8::try_from(u8::from(d.month())).ok()?,
            i8::try_from(d.day()).ok()?,
        )
        .ok()?;
        let start = date
            .to_zoned_datetime(self.tz.clone())
            .ok()?
            .start_of_day()
            .ok()?;
        OffsetDateTime::from_unix_timestamp_nanos(start.timestamp().as_nanosecond()).ok()
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

#[cfg(test)]
mod zone_tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn days_follow_the_zone() {
        let ny = Zone::named("America/New_York").unwrap();
        assert_eq!(ny.name(), "America/New_York");
        // 03:00 UTC is still the previous evening in New York.
        assert_eq!(
            ny.date_at(datetime!(2026-03-14 03:00 UTC)),
            Some(date!(2026 - 03 - 13))
        );
        // Winter: UTC-5; summer (after 2026-03-08): UTC-4.
        assert_eq!(
            ny.day_start(date!(2026 - 03 - 02)),
            Some(datetime!(2026-03-02 05:00 UTC))
        );
        assert_eq!(
            ny.day_start(date!(2026 - 03 - 09)),
            Some(datetime!(2026-03-09 04:00 UTC))
        );
        assert!(Zone::named("Mars/Olympus").is_none());
        assert!(Zone::named("").is_none());
        let utc = Zone::utc();
        assert_eq!(
            utc.day_start(date!(2026 - 01 - 01)),
            Some(datetime!(2026-01-01 00:00 UTC))
        );
        let plus5 = Zone::fixed(UtcOffset::from_hms(5, 0, 0).unwrap());
        assert_eq!(
            plus5.date_at(datetime!(2026-01-01 20:00 UTC)),
            Some(date!(2026 - 01 - 02))
        );
    }
}
