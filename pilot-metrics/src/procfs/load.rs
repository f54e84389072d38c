//! `/proc/loadavg` and `/proc/uptime`.

/// Parses the three load averages of `/proc/loadavg`.
pub(crate) fn parse_loadavg(text: &str) -> Result<[f64; 3], &'static str> {
    let mut fields = text.split_ascii_whitespace();
    let mut load = [0.0; 3];
    for slot in &mut load {
        *slot = fields
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or("fewer than three load averages")?;
    }
    Ok(load)
}

/// Parses the uptime in seconds, the first number of `/proc/uptime`.
pub(crate) fn parse_uptime(text: &str) -> Result<f64, &'static str> {
    text.split_ascii_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or("no uptime number")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_load_and_uptime() {
        assert_eq!(
            parse_loadavg("5.33 4.42 3.21 5/116 16760\n"),
            Ok([5.33, 4.42, 3.21])
        );
        assert!(parse_loadavg("1.0 2.0\n").is_err());
        assert_eq!(parse_uptime("2328.68 1948.86\n"), Ok(2328.68));
        assert!(parse_uptime("").is_err());
    }
}
