//! Durations on the command line (`90s`, `30m`, `2h`, `1d`, `1h30m`) and their short display,
//! both by `humantime`.

const UNITS: &str = "use a number with a unit: 90s, 30m, 2h, 1d, or combined like 1h30m";

/// A length of time given on the command line, like `30m` or `1h30m`, in whole seconds.
///
/// A bare number is refused: `--older-than 30` could mean seconds or minutes, and guessing
/// wrong replays the wrong jobs.
pub fn parse(raw: &str) -> Result<i64, String> {
    let duration = humantime::parse_duration(raw.trim())
        .map_err(|e| format!("{raw:?} is not a duration ({e}): {UNITS}"))?;
    i64::try_from(duration.as_secs()).map_err(|_| format!("{raw:?} is too long"))
}

/// The two largest units of a number of seconds, by humantime: `45s`, `12m 5s`, `3h 20m`,
/// `2days 4h` (its own format shows every unit).
pub fn short(s: u64) -> String {
    let unit = match s {
        0..3_600 => 1,
        3_600..86_400 => 60,
        _ => 3_600,
    };
    humantime::format_duration(std::time::Duration::from_secs(s - s % unit)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        let secs = |s: &str| parse(s).unwrap();
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("30m"), 1_800);
        assert_eq!(secs("2h"), 7_200);
        assert_eq!(secs("1d"), 86_400);
        assert_eq!(secs("1h30m"), 5_400);
        assert_eq!(secs(" 0s "), 0);
        // humantime reads fractions too: unambiguous, unlike a bare number.
        assert_eq!(secs("1.5h"), 5_400);
    }

    #[test]
    fn refuses_what_could_be_misread() {
        for bad in [
            "",
            "30",
            "m",
            "1x",
            "-5m",
            "2h30",
            "h2",
            "99999999999999999999d",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("90s, 30m"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn displays_the_two_largest_units() {
        assert_eq!(short(0), "0s");
        assert_eq!(short(45), "45s");
        assert_eq!(short(60), "1m");
        assert_eq!(short(725), "12m 5s");
        assert_eq!(short(3 * 3600 + 20 * 60 + 7), "3h 20m");
        assert_eq!(short(2 * 86_400 + 4 * 3600 + 59), "2days 4h");
    }
}
