//! Text for numbers, durations and times, the way the screen shows them.

use taskyard_core::Millis;

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A short duration: `850ms`, `12s`, `4m10s`, `3h05m`, `6d04h`.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{s}s"),
        60_000..3_600_000 => format!("{}m{:02}s", s / 60, s % 60),
        3_600_000..86_400_000 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A coarse age: `12s`, `4m`, `3h`, `6d`.
pub fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `HH:MM:SS` of an instant, shifted by the local offset.
pub fn clock(at: Millis, offset_s: i32) -> String {
    let t = at.to_datetime() + chrono::Duration::seconds(i64::from(offset_s));
    t.format("%H:%M:%S").to_string()
}

/// `HH:MM:SS.mmm` of an instant, shifted by the local offset.
pub fn clock_ms(at: Millis, offset_s: i32) -> String {
    let t = at.to_datetime() + chrono::Duration::seconds(i64::from(offset_s));
    t.format("%H:%M:%S%.3f").to_string()
}

/// Cuts `text` to `width` characters, ending in `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Parses a delay: `0`, `500` (ms), `500ms`, `10s`, `5m`, `2h`, `1d`.
pub fn parse_delay(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("delay `{t}` is not a duration; write e.g. 500ms, 10s, 5m or 2h"))?;
    let factor = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(format!(
                "delay unit `{other}` is unknown; use ms, s, m, h or d (e.g. 10s)"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("delay `{t}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(250_000), "4m10s");
        assert_eq!(age(7_200_000), "2h");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(clock(Millis(3_600_000 + 61_000), 0), "01:01:01");
    }

    #[test]
    fn delays() {
        assert_eq!(parse_delay(""), Ok(0));
        assert_eq!(parse_delay("250"), Ok(250));
        assert_eq!(parse_delay("10s"), Ok(10_000));
        assert_eq!(parse_delay("5m"), Ok(300_000));
        assert!(parse_delay("5 parsecs").unwrap_err().contains("unknown"));
        assert!(parse_delay("soon").unwrap_err().contains("10s"));
    }
}
