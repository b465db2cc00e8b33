//! The benchmarks' and the soak's knobs: environment variables with defaults.

/// `name` parsed as a `T`, or `default` when it is unset or does not parse.
pub fn or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
