//! UK telephone numbers: one canonical form so that a number matches whatever its formatting.

/// Digits of a number in national form: `+44 7700 900123`, `0044…` and `07700 900123` all give
/// `07700900123`. Returns None when there are no digits.
pub fn normalize(raw: &str) -> Option<String> {
    let t = raw.trim();
    let plus = t.starts_with('+');
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let d = if let (true, Some(rest)) = (plus, digits.strip_prefix("44")) {
        format!("0{}", rest.trim_start_matches('0'))
    } else if let Some(rest) = digits.strip_prefix("0044") {
        format!("0{}", rest.trim_start_matches('0'))
    } else if plus {
        format!("+{digits}")
    } else {
        digits
    };
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn formats_agree() {
        for s in [
            "07700 900123",
            "+447700900123",
            "+44 (0)7700 900123",
            "0044 7700-900123",
        ] {
            let n = normalize(s).unwrap();
            assert_eq!(n, "07700900123", "{s}");
        }
        assert_eq!(normalize("+44 7700 900123").unwrap(), "07700900123");
        assert_eq!(normalize("01632 960001").unwrap(), "01632960001");
        assert_eq!(normalize("201").unwrap(), "201");
        assert_eq!(normalize("anonymous"), None);
    }
}
