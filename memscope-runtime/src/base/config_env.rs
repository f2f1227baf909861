//! Settings read from `MEMSCOPE_*` environment variables: how each is read and parsed
//! (applied by `config::apply_environment` when the first task starts).

use crate::base::task::TaskType;

/// Task types, the length of a budget-per-type table.
const TYPES: usize = TaskType::ALL.len();

/// Environment variable: the sampling mean, read when the first task starts (and by
/// `Config::default`): bytes (`524288`), with `KiB`/`MiB`/`GiB` (`512KiB`), `1` for every
/// allocation, `0` or `off` to turn sampling off.
pub const SAMPLE_BYTES_ENV: &str = "MEMSCOPE_SAMPLE_BYTES";

/// `512KiB`, `4MiB`, `1`, `0`, `off`: the mean, or `None` if it is not one.
pub(crate) fn parse_sample_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Some(0);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// The value of environment variable `name`, if it is set and not blank: how every
/// `MEMSCOPE_*` variable is read.
pub(crate) fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The mean [`SAMPLE_BYTES_ENV`] sets, if it is set and not blank; a value that is not a
/// size is a line on stderr (`warn`) and `None`.
pub(crate) fn sample_bytes_from_env(warn: bool) -> Option<u64> {
    let value = env_value(SAMPLE_BYTES_ENV)?;
    let parsed = parse_sample_bytes(&value);
    if parsed.is_none() && warn {
        eprintln!(
            "memscope: {SAMPLE_BYTES_ENV}=`{value}` is not a size; give e.g. `0` (off), `1` \
             (every allocation) or `512KiB`"
        );
    }
    parsed
}

/// Environment variable: per task type, the budget of each spawned task of that type
/// (`Config::with_type_budget`), read when the first task starts (and by
/// `Config::default`): `cpu=64MiB,background=1GiB` (sizes as [`SAMPLE_BYTES_ENV`]'s).
pub const TYPE_BUDGETS_ENV: &str = "MEMSCOPE_TYPE_BUDGETS";

/// `cpu=64MiB,io=16MiB`: the budgets by type (0: none), or what is wrong with the text.
pub(crate) fn parse_type_budgets(text: &str) -> Result<[u64; TYPES], String> {
    let mut budgets = [0; TYPES];
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((ty, size)) = item.split_once('=') else {
            return Err(format!("`{item}` is not `type=size`"));
        };
        let ty: TaskType = ty.trim().parse().map_err(|e| format!("{e}"))?;
        let bytes =
            parse_sample_bytes(size).ok_or_else(|| format!("`{}` is not a size", size.trim()))?;
        budgets[ty as usize] = bytes;
    }
    Ok(budgets)
}

/// The budgets [`TYPE_BUDGETS_ENV`] sets, if it is set and not blank; a value that does
/// not parse is a line on stderr (`warn`) and `None`.
pub(crate) fn type_budgets_from_env(warn: bool) -> Option<[u64; TYPES]> {
    let value = env_value(TYPE_BUDGETS_ENV)?;
    match parse_type_budgets(&value) {
        Ok(budgets) => Some(budgets),
        Err(why) => {
            if warn {
                eprintln!(
                    "memscope: {TYPE_BUDGETS_ENV}=`{value}`: {why}; give e.g. \
                     `cpu=64MiB,background=1GiB`"
                );
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_sizes_parse_as_documented() {
        assert_eq!(parse_sample_bytes("524288"), Some(524_288));
        assert_eq!(parse_sample_bytes("512KiB"), Some(524_288));
        assert_eq!(parse_sample_bytes(" 4 MiB "), Some(4 << 20));
        assert_eq!(parse_sample_bytes("1"), Some(1));
        assert_eq!(parse_sample_bytes("off"), Some(0));
        assert_eq!(parse_sample_bytes("0"), Some(0));
        assert_eq!(parse_sample_bytes("lots"), None);
        assert_eq!(parse_sample_bytes("5 parsecs"), None);
    }

    #[test]
    fn type_budgets_parse_as_documented() {
        let b = parse_type_budgets("cpu=64MiB, background = 1GiB").unwrap();
        assert_eq!(b[TaskType::CpuIntensive as usize], 64 << 20);
        assert_eq!(b[TaskType::Background as usize], 1 << 30);
        assert_eq!(b[TaskType::IoIntensive as usize], 0);
        assert!(parse_type_budgets("gpu=1MiB").unwrap_err().contains("gpu"));
        assert!(parse_type_budgets("cpu=lots").unwrap_err().contains("lots"));
        assert!(parse_type_budgets("cpu").unwrap_err().contains("type=size"));
    }
}
