//! Timestamps as text: UTC wall-clock time of day, ISO 8601 date-time and
//! epoch seconds, from nanoseconds since the Unix epoch, without a date library.

use std::fmt::Write;

/// (year, month, day, hour, minute, second, nanosecond) in UTC.
pub fn civil(ts_ns: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    // Days to civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, sod / 3600, sod / 60 % 60, sod % 60, nanos)
}

/// `HH:MM:SS.ffffff` (UTC), as tcpdump prints a packet's time.
pub fn write_time_of_day(out: &mut String, ts_ns: i64) {
    let (_, _, _, h, m, s, ns) = civil(ts_ns);
    let _ = write!(out, "{h:02}:{m:02}:{s:02}.{:06}", ns / 1000);
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn iso8601(ts_ns: i64) -> String {
    let (y, mo, d, h, m, s, ns) = civil(ts_ns);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{:06}Z",
        ns / 1000
    )
}

/// Epoch seconds with nanoseconds, as a JSON number (`1700000000.123456789`).
pub fn write_epoch(out: &mut String, ts_ns: i64) {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000);
    let _ = write!(out, "{secs}.{nanos:09}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0, 0));
        // 2026-11-26T10:01:02.345678901Z
        let ts = 1_795_687_262_345_678_901;
        assert_eq!(civil(ts), (2026, 11, 26, 10, 1, 2, 345_678_901));
        assert_eq!(civil(951_782_400_000_000_000).1, 2); // 2000-02-29
        assert_eq!(civil(-1_000_000_000), (1969, 12, 31, 23, 59, 59, 0));
        let mut s = String::new();
        write_time_of_day(&mut s, ts);
        assert_eq!(s, "10:01:02.345678");
        s.clear();
        write_epoch(&mut s, ts);
        assert_eq!(s, "1795687262.345678901");
        assert_eq!(iso8601(ts), "2026-11-26T10:01:02.345678Z");
    }
}
