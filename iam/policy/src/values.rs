//! Condition values as the operators read them: numbers, W3C ISO 8601 dates (or epoch seconds),
//! CIDR blocks, booleans and base64. Hand-written because the crate must stay pure and small for
//! wasm; each parser is strict and total (no input panics).

use std::net::IpAddr;

/// A number as `Numeric*` operators compare it.
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() || t.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn digits(s: &str, n: usize) -> Option<i64> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A date as `Date*` operators compare it, in milliseconds since the epoch: epoch seconds, or a
/// W3C ISO 8601 date (`2026`, `2026-11`, `2026-11-28`, `2026-11-28T09:10Z`,
/// `2026-11-28T09:10:03.5+01:00`).
pub fn parse_date(text: &str) -> Option<i64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) && t.len() > 4 {
        return t.parse::<i64>().ok()?.checked_mul(1000);
    }
    let (date, time) = match t.split_once(['T', 't']) {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let year = digits(parts.next()?, 4)?;
    let month = parts.next().map(|m| digits(m, 2)).unwrap_or(Some(1))?;
    let day = parts.next().map(|d| digits(d, 2)).unwrap_or(Some(1))?;
    if parts.next().is_some() || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    if let Some(time) = time {
        let (clock, offset_ms) = split_zone(time)?;
        let mut fields = clock.split(':');
        let hour = digits(fields.next()?, 2)?;
        let minute = digits(fields.next()?, 2)?;
        let (second, frac_ms) = match fields.next() {
            None => (0, 0),
            Some(sec) => {
                let (whole, frac) = sec.split_once('.').map_or((sec, None), |(w, f)| (w, Some(f)));
                let frac_ms = match frac {
                    None => 0,
                    Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
                        let padded: String = f.chars().chain(std::iter::repeat('0')).take(3).collect();
                        padded.parse::<i64>().ok()?
                    }
                    Some(_) => return None,
                };
                (digits(whole, 2)?, frac_ms)
            }
        };
        if fields.next().is_some() || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        ms += ((hour * 60 + minute) * 60 + second) * 1000 + frac_ms - offset_ms;
    }
    Some(ms)
}

/// Splits `09:10:03+01:00` into the clock and the zone's offset in milliseconds.
fn split_zone(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let at = time.rfind(['+', '-'])?;
    let (clock, zone) = time.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (h, m) = zone.get(1..)?.split_once(':')?;
    let offset = (digits(h, 2)? * 60 + digits(m, 2)?) * 60_000;
    Some((clock, sign * offset))
}

/// A CIDR block (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub network: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let t = text.trim();
        let (addr, prefix) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (t, None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok()?
            }
            Some(_) => return None,
            None => max,
        };
        (prefix <= max).then_some(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip.to_ipv4_mapped().is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// `true` / `false`, ignoring case.
pub fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Whether `text` is standard base64 (with padding).
pub fn is_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return false;
    }
    let body = text.trim_end_matches('=');
    bytes.len() - body.len() <= 2 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_w3c_iso_8601_and_epoch_seconds() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("2026-11-28T09:00:03Z"), Some(1_795_856_403_000));
        assert_eq!(parse_date("2026-11-28T10:00:03+01:00"), Some(1_795_856_403_000));
        assert_eq!(parse_date("2026-11-28T09:00:03.5Z"), Some(1_795_856_403_500));
        assert_eq!(parse_date("1795856403"), Some(1_795_856_403_000));
        assert_eq!(parse_date("2026-11-28"), parse_date("2026-11-28T00:00Z"));
        assert_eq!(parse_date("2026"), parse_date("2026-01-01"));
        assert_eq!(parse_date("2024-02-29"), Some(days_from_civil(2024, 2, 29) * 86_400_000));
        for bad in [
            "",
            "2023-02-29",
            "2026-13-01",
            "2026-11-28T25:00Z",
            "2026-11-28T09:00",
            "yesterday",
            "2026-1-1",
            "20261128T0900Z",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidrs_contain_what_they_should() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()), "IPv4-mapped IPv6");
        let one = Cidr::parse("203.0.113.7").unwrap();
        assert_eq!(one.prefix, 32);
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "x", "10.0.0.0/8/8", "10.0.0.0/-1"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_booleans_and_base64() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number("-2.5"), Some(-2.5));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("ten"), None);
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("yes"), None);
        assert!(is_base64("QmluYXJ5"));
        assert!(is_base64("QQ=="));
        assert!(!is_base64("QQ="));
        assert!(!is_base64("not base64!"));
    }
}
