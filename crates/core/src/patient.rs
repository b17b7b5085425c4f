//! NHS numbers: the identifier a practice files a patient by. Ten digits, the last a modulus-11
//! check digit over the first nine (weights 10 down to 2); written with spaces as `999 123 4560`.
//! A number that fails the check is refused with the reason, never stored.

/// The canonical form (ten digits, no spaces) of an NHS number as someone typed it (spaces and
/// hyphens allowed), or why it is not one.
pub fn parse(raw: &str) -> std::result::Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("an NHS number is ten digits; none was given".into());
    }
    if let Some(c) = t
        .chars()
        .find(|c| !(c.is_ascii_digit() || *c == ' ' || *c == '-'))
    {
        return Err(format!(
            "not an NHS number: it holds '{c}' (only digits, spaces and hyphens)"
        ));
    }
    let digits: Vec<u32> = t.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 10 {
        return Err(format!(
            "not an NHS number: it has {} digits, not 10",
            digits.len()
        ));
    }
    match check_digit(&digits[..9]) {
        None => Err(
            "not an NHS number: no NHS number begins with these nine digits (their check digit would be 10)"
                .into(),
        ),
        Some(c) if c != digits[9] => Err(
            "not an NHS number: its last digit does not match the check digit of the first nine (a digit mistyped or two swapped?)"
                .into(),
        ),
        Some(_) => Ok(digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect()),
    }
}

/// The modulus-11 check digit of nine digits, or None when it would be 10 (no such NHS number).
pub fn check_digit(nine: &[u32]) -> Option<u32> {
    let sum: u32 = nine.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c),
    }
}

/// An NHS number as people write it: `999 123 4560`.
pub fn display(n: &str) -> String {
    if n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()) {
        format!("{} {} {}", &n[..3], &n[3..6], &n[6..])
    } else {
        n.to_string()
    }
}

/// Is `n` an NHS number in its canonical form (ten digits that pass the check)? What a reader
/// asks of a number read from the share.
pub fn is_canonical(n: &str) -> bool {
    parse(n).is_ok_and(|c| c == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_digit_is_checked() {
        // The NHS's published example.
        assert_eq!(parse("943 476 5919").unwrap(), "9434765919");
        assert_eq!(parse(" 943-476-5919 ").unwrap(), "9434765919");
        let e = parse("943 476 5918").unwrap_err();
        assert!(e.contains("check digit"), "{e}");
        // Two digits swapped.
        assert!(parse("934 476 5919").is_err());
        assert!(parse("943 476 591").unwrap_err().contains("9 digits"));
        assert!(parse("943476591900").unwrap_err().contains("12 digits"));
        assert!(parse("943 476 591O").unwrap_err().contains("'O'"));
        assert!(parse("").is_err());
        // First nine digits whose check digit would be 10.
        let ten = (0..1000u32)
            .map(|k| format!("999000{k:03}"))
            .find(|s| {
                check_digit(
                    &s.chars()
                        .map(|c| c.to_digit(10).unwrap())
                        .collect::<Vec<_>>(),
                )
                .is_none()
            })
            .unwrap();
        for last in 0..10 {
            let e = parse(&format!("{ten}{last}")).unwrap_err();
            assert!(e.contains("would be 10"), "{e}");
        }
        assert!(is_canonical("9434765919"));
        assert!(!is_canonical("943 476 5919"));
        assert!(!is_canonical("9434765918"));
        assert_eq!(display("9434765919"), "943 476 5919");
    }
}
