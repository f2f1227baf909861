//! Byte sizes as a budget of `#[memscope::test]` writes them: `"256 KiB"`, `"1.5 MiB"`,
//! `"100 B"`, turned into a number of bytes at compile time.
//!
//! Units are binary only (`KiB`, `MiB`, `GiB`, and `B`): `KB` means 1,000 bytes to some
//! and 1,024 to others, so it is rejected with a message that says which to write. A
//! fraction is exact (`"1.5 MiB"` is 1,572,864 bytes); one that does not come to a whole
//! number of bytes is rejected rather than rounded.

/// Accepted units, each with its number of bytes, in the order messages list them.
pub(crate) const UNITS: [(&str, u64); 4] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
];

/// Decimal units (in lower case), which are rejected as ambiguous.
const DECIMAL_UNITS: [&str; 6] = ["kb", "mb", "gb", "k", "m", "g"];

/// Fractional digits beyond the trailing zeros that a size may have: more than anyone
/// writes, and few enough that `10^18 · 2^30` still fits in a `u128`.
const MAX_DECIMALS: usize = 18;

/// The example every message of this file ends with.
const EXAMPLE: &str = "e.g. `peak = \"256 KiB\"`";

/// Parses `text` (the value of a string literal) into bytes; the error is the message.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim_start());
    let Some((whole, fraction)) = split_number(number) else {
        return Err(format!("expected a size: a number and a unit, {EXAMPLE}"));
    };
    let bytes_per_unit = unit_bytes(number, unit)?;
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > MAX_DECIMALS {
        return Err(format!("too many decimals in `{text}`; {EXAMPLE}"));
    }
    let too_large = || format!("`{text}` is more bytes than a `u64` holds");
    let whole: u128 = whole.parse().map_err(|_| too_large())?;
    let fraction_bytes = match fraction {
        "" => 0,
        digits => {
            let numerator = digits.parse::<u128>().unwrap_or(0) * u128::from(bytes_per_unit);
            let denominator = 10u128.pow(digits.len() as u32);
            if numerator % denominator != 0 {
                let below =
                    whole.saturating_mul(u128::from(bytes_per_unit)) + numerator / denominator;
                return Err(format!(
                    "`{text}` is not a whole number of bytes; write the bytes as an \
                     integer instead, such as `{below}`"
                ));
            }
            numerator / denominator
        }
    };
    whole
        .checked_mul(u128::from(bytes_per_unit))
        .and_then(|bytes| bytes.checked_add(fraction_bytes))
        .and_then(|bytes| u64::try_from(bytes).ok())
        .ok_or_else(too_large)
}

/// `"1.5"` as `("1", "5")`, `"2"` as `("2", "")`; `None` for anything else (`""`, `"."`,
/// `"1."`, `".5"`, `"1.2.3"`).
fn split_number(number: &str) -> Option<(&str, &str)> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = !number.contains('.') || digits(fraction);
    (digits(whole) && fraction_ok).then_some((whole, fraction))
}

/// The bytes of one `unit`, or the message saying which units there are.
fn unit_bytes(number: &str, unit: &str) -> Result<u64, String> {
    let units: Vec<&str> = UNITS.iter().map(|(name, _)| *name).collect();
    let units = crate::args::one_of(&units);
    if let Some((_, bytes)) = UNITS.iter().find(|(name, _)| *name == unit) {
        return Ok(*bytes);
    }
    if unit.is_empty() {
        return Err(format!(
            "`{number}` has no unit; write one of {units} (e.g. `\"{number} B\"`), \
             or the bytes as an integer (`{number}`)"
        ));
    }
    if DECIMAL_UNITS.contains(&unit.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "`{unit}` is ambiguous (1000 or 1024?); write `KiB`, `MiB` or `GiB`, \
             binary units (1 KiB = 1024 bytes)"
        ));
    }
    Err(format!("unknown unit `{unit}`; expected one of {units}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_and_exact_fractions() {
        assert_eq!(parse_size("100 B"), Ok(100));
        assert_eq!(parse_size("256 KiB"), Ok(262_144));
        assert_eq!(parse_size("1 MiB"), Ok(1 << 20));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1.5 MiB"), Ok(1_572_864));
        assert_eq!(parse_size("0.5 KiB"), Ok(512));
        assert_eq!(parse_size("1.250 KiB"), Ok(1280), "trailing zeros are fine");
        assert_eq!(parse_size("0 B"), Ok(0));
        assert_eq!(parse_size(" 64KiB "), Ok(65_536), "spaces are optional");
    }

    #[test]
    fn decimal_units_are_rejected_and_name_the_binary_ones() {
        for unit in ["KB", "kB", "MB", "GB", "k", "M"] {
            let message = parse_size(&format!("1 {unit}")).unwrap_err();
            assert_eq!(
                message,
                format!(
                    "`{unit}` is ambiguous (1000 or 1024?); write `KiB`, `MiB` or `GiB`, \
                     binary units (1 KiB = 1024 bytes)"
                )
            );
        }
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        assert_eq!(
            parse_size("1 TiB").unwrap_err(),
            "unknown unit `TiB`; expected one of `B`, `KiB`, `MiB`, or `GiB`"
        );
        assert_eq!(
            parse_size("1024").unwrap_err(),
            "`1024` has no unit; write one of `B`, `KiB`, `MiB`, or `GiB` (e.g. `\"1024 B\"`), \
             or the bytes as an integer (`1024`)"
        );
        assert_eq!(
            parse_size("0.1 KiB").unwrap_err(),
            "`0.1 KiB` is not a whole number of bytes; write the bytes as an integer \
             instead, such as `102`"
        );
        assert_eq!(
            parse_size("1.5 B").unwrap_err().split(';').next(),
            Some("`1.5 B` is not a whole number of bytes")
        );
        for bad in [
            "",
            "KiB",
            ".5 KiB",
            "1. KiB",
            "1.2.3 KiB",
            "-1 KiB",
            "one KiB",
        ] {
            assert_eq!(
                parse_size(bad).unwrap_err(),
                "expected a size: a number and a unit, e.g. `peak = \"256 KiB\"`",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn sizes_beyond_u64_are_rejected() {
        assert_eq!(parse_size("17179869183 GiB"), Ok(17_179_869_183 << 30));
        let message = "`17179869184 GiB` is more bytes than a `u64` holds";
        assert_eq!(parse_size("17179869184 GiB").unwrap_err(), message);
        let huge = format!("{} B", "9".repeat(60));
        assert!(parse_size(&huge)
            .unwrap_err()
            .ends_with("more bytes than a `u64` holds"));
        assert!(parse_size("1.0000000000000000001 GiB")
            .unwrap_err()
            .starts_with("too many decimals"));
    }
}
