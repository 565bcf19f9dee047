//! The value syntax of grid-capable flags: `0.1`, `0.1,0.2,0.5`, `lin:START:STOP:COUNT`,
//! `log:START:STOP:COUNT`, and any comma-separated mix of these. Vector flags (`--theta0`,
//! `--curvature`) separate the alternatives of a sweep by `,` and the coordinates of one vector
//! by `;` (the form their CSV cells use).
//!
//! Ranges include both ends and are built by index, never by adding a float step:
//!
//! - `lin`: x_j = (START·(COUNT−1−j) + STOP·j)/(COUNT−1), computed exactly in decimal and rounded
//!   once, so every x_j is the `f64` its decimal literal would parse to (`lin:0:1:11` gives exactly
//!   0, 0.1, 0.2, …, 1).
//! - `log`: x_j = 10^e_j with e_j = (log₁₀START·(COUNT−1−j) + log₁₀STOP·j)/(COUNT−1); the ends are
//!   START and STOP exactly, and when START and STOP are powers of ten every integer e_j gives the
//!   literal `1e{e_j}` exactly (`log:1e-3:1:4` is 0.001, 0.01, 0.1, 1).

use std::fmt;

/// The largest COUNT of one range: a larger axis could not pass the sweep's point cap anyway, and
/// building it would only burn memory.
pub const MAX_COUNT: u64 = 10_000_000;

/// A malformed grid value. Displayed after clap's "invalid value 'TEXT' for '--FLAG'".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GridError(String);

fn err<T>(message: impl fmt::Display) -> Result<T, GridError> {
    Err(GridError(message.to_string()))
}

/// Values of an `f64` flag, in the order given.
pub fn parse_f64s(text: &str) -> Result<Vec<f64>, GridError> {
    items(text)?
        .into_iter()
        .map(|item| match Range::parse(item)? {
            Some(range) => range.f64_values(),
            // `str::parse` keeps literals exact; non-finite values pass to the configuration
            // check, which names the flag.
            None => item.parse::<f64>().map(|x| vec![x]).or_else(|_| {
                err(format!(
                    "'{item}' is not a number, a comma list or lin:/log: range"
                ))
            }),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|v| v.concat())
}

/// Values of an integer flag. Plain values may be written as integers or as exact integral
/// decimals (`1e6`); a `lin` range must land on integers at every index; a `log` range is rounded
/// to the nearest integer (duplicates are refused later, by the sweep).
pub fn parse_u64s(text: &str) -> Result<Vec<u64>, GridError> {
    items(text)?
        .into_iter()
        .map(|item| match Range::parse(item)? {
            Some(range) => range.u64_values(),
            None => integer(item).map(|v| vec![v]),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|v| v.concat())
}

/// Values of a vector flag: alternatives separated by `,`, coordinates by `;`. A range may stand
/// as an alternative of its own (`lin:0.1:0.5:5` is five one-coordinate vectors) but not inside a
/// `;` vector.
pub fn parse_vectors(text: &str) -> Result<Vec<Vec<f64>>, GridError> {
    let mut out = Vec::new();
    for item in items(text)? {
        if !item.contains(';') {
            out.extend(parse_f64s(item)?.into_iter().map(|x| vec![x]));
            continue;
        }
        let coords = item
            .split(';')
            .map(|c| {
                let c = c.trim();
                if c.is_empty() {
                    err(format!("empty coordinate in '{item}'"))
                } else if Range::parse(c)?.is_some() {
                    err(format!(
                        "a lin:/log: range cannot be a coordinate of a ;-vector ('{item}')"
                    ))
                } else {
                    c.parse::<f64>()
                        .or_else(|_| err(format!("'{c}' is not a number (in '{item}')")))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(coords);
    }
    Ok(out)
}

/// Splits a comma list, refusing empty items ("0.1,,0.2", a trailing comma, or nothing at all).
fn items(text: &str) -> Result<Vec<&str>, GridError> {
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.iter().any(|i| i.is_empty()) {
        return err(format!(
            "empty value in the list '{text}': give values separated by single commas"
        ));
    }
    Ok(items)
}

fn integer(item: &str) -> Result<u64, GridError> {
    if let Ok(v) = item.parse::<u64>() {
        return Ok(v);
    }
    match Decimal::parse(item).and_then(|d| d.to_u64()) {
        Some(v) => Ok(v),
        None => err(format!("'{item}' is not a non-negative integer")),
    }
}

/// `lin:START:STOP:COUNT` or `log:START:STOP:COUNT`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    log: bool,
    start: Decimal,
    stop: Decimal,
    count: u64,
}

impl Range {
    /// `Ok(None)` when `item` is not a range at all.
    fn parse(item: &str) -> Result<Option<Range>, GridError> {
        let (kind, rest) = match item.split_once(':') {
            Some((k @ ("lin" | "log"), rest)) => (k, rest),
            Some((other, _)) => {
                return err(format!(
                    "unknown range kind '{other}' in '{item}': use lin:START:STOP:COUNT or \
                     log:START:STOP:COUNT"
                ));
            }
            None => return Ok(None),
        };
        let parts: Vec<&str> = rest.split(':').collect();
        let [start, stop, count] = parts[..] else {
            return err(format!(
                "'{item}' must have the form {kind}:START:STOP:COUNT (three fields after '{kind}:')"
            ));
        };
        let number = |name: &str, s: &str| {
            Decimal::parse(s).map_or_else(
                || {
                    err(format!(
                        "{name} '{s}' in '{item}' is not a finite decimal number"
                    ))
                },
                Ok,
            )
        };
        let (start, stop) = (number("START", start)?, number("STOP", stop)?);
        let count: u64 = count.parse().or_else(|_| {
            err(format!(
                "COUNT '{count}' in '{item}' must be a whole number ≥ 1"
            ))
        })?;
        if count < 1 {
            return err(format!("COUNT in '{item}' must be ≥ 1 (got 0)"));
        }
        if count > MAX_COUNT {
            return err(format!(
                "COUNT in '{item}' must be ≤ {MAX_COUNT} (got {count})"
            ));
        }
        if count == 1 && start != stop {
            return err(format!(
                "'{item}' has COUNT 1 but START ≠ STOP: a range with both ends needs COUNT ≥ 2"
            ));
        }
        let log = kind == "log";
        if log && (start.mant <= 0 || stop.mant <= 0) {
            return err(format!(
                "'{item}': a log range needs START > 0 and STOP > 0 (it cannot reach or cross 0)"
            ));
        }
        Ok(Some(Range {
            log,
            start,
            stop,
            count,
        }))
    }

    fn f64_values(&self) -> Result<Vec<f64>, GridError> {
        let n = self.count;
        if n == 1 {
            return Ok(vec![self.start.to_f64()]);
        }
        (0..n)
            .map(|j| {
                if j == 0 {
                    Ok(self.start.to_f64())
                } else if j == n - 1 {
                    Ok(self.stop.to_f64())
                } else if self.log {
                    Ok(self.log_point(j))
                } else {
                    self.lin_point(j)
                        .map(|(num, den, e)| rational_to_f64(num, den, e))
                }
            })
            .collect()
    }

    fn u64_values(&self) -> Result<Vec<u64>, GridError> {
        let n = self.count;
        (0..n)
            .map(|j| {
                if self.log {
                    let x = if j == 0 {
                        self.start.to_f64()
                    } else if j == n - 1 {
                        self.stop.to_f64()
                    } else {
                        self.log_point(j)
                    }
                    .round();
                    return if (0.0..18_446_744_073_709_551_616.0).contains(&x) {
                        Ok(x as u64)
                    } else {
                        err(format!("log range gives {x}, not a 64-bit integer"))
                    };
                }
                let (num, den, e) = if n == 1 {
                    (self.start.mant, 1, self.start.exp)
                } else {
                    self.lin_point(j)?
                };
                let v = Decimal { mant: num, exp: e };
                (num % den == 0)
                    .then(|| {
                        Decimal {
                            mant: num / den,
                            ..v
                        }
                        .to_u64()
                    })
                    .flatten()
                    .map_or_else(
                        || {
                            err(format!(
                                "point {j} of the lin range is {}, not a non-negative integer: \
                                 choose COUNT so that (STOP − START)/(COUNT − 1) is a whole number",
                                rational_to_f64(num, den, e)
                            ))
                        },
                        Ok,
                    )
            })
            .collect()
    }

    /// x_j = num/den · 10^e exactly, for 0 < j < COUNT − 1.
    fn lin_point(&self, j: u64) -> Result<(i128, i128, i32), GridError> {
        let too_many_digits = || {
            GridError(format!(
                "lin range {}:{}: too many significant digits to build exactly",
                self.start.to_f64(),
                self.stop.to_f64()
            ))
        };
        let e = self.start.exp.min(self.stop.exp);
        let scale = |d: Decimal| {
            10i128
                .checked_pow((d.exp - e) as u32)
                .and_then(|p| p.checked_mul(d.mant))
        };
        let (a, b) = (
            scale(self.start).ok_or_else(too_many_digits)?,
            scale(self.stop).ok_or_else(too_many_digits)?,
        );
        let den = (self.count - 1) as i128;
        let j = j as i128;
        let num = a
            .checked_mul(den - j)
            .zip(b.checked_mul(j))
            .and_then(|(x, y)| x.checked_add(y))
            .ok_or_else(too_many_digits)?;
        Ok((num, den, e))
    }

    fn log_point(&self, j: u64) -> f64 {
        let n = (self.count - 1) as i128;
        let j = j as i128;
        if let (Some(pa), Some(pb)) = (self.start.power_of_ten(), self.stop.power_of_ten()) {
            let num = pa as i128 * (n - j) + pb as i128 * j;
            if num % n == 0 {
                return format!("1e{}", num / n).parse().expect("a valid literal");
            }
            return 10f64.powf(num as f64 / n as f64);
        }
        let (la, lb) = (self.start.to_f64().log10(), self.stop.to_f64().log10());
        10f64.powf((la * (n - j) as f64 + lb * j as f64) / n as f64)
    }
}

/// A finite decimal literal as the exact rational mant·10^exp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    mant: i128,
    exp: i32,
}

impl Decimal {
    /// Parses `[-+]digits[.digits][(e|E)[-+]digits]`; `None` for anything else (`inf`, `NaN`, …)
    /// or more than 36 significant digits.
    fn parse(s: &str) -> Option<Decimal> {
        let (body, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
            None => (s, 0),
        };
        let (negative, body) = match body.as_bytes().first()? {
            b'-' => (true, &body[1..]),
            b'+' => (false, &body[1..]),
            _ => (false, body),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let digits = format!("{int}{frac}");
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = digits.trim_start_matches('0');
        if digits.len() > 36 || exp.unsigned_abs() > 400 {
            return None;
        }
        let mant: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        Some(
            Decimal {
                mant: if negative { -mant } else { mant },
                exp: exp - frac.len() as i32,
            }
            .normalised(),
        )
    }

    /// Strips trailing zeros of the mantissa, so that equal values compare equal.
    fn normalised(mut self) -> Decimal {
        if self.mant == 0 {
            return Decimal { mant: 0, exp: 0 };
        }
        while self.mant % 10 == 0 {
            self.mant /= 10;
            self.exp += 1;
        }
        self
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mant, self.exp)
            .parse()
            .expect("a valid literal")
    }

    fn to_u64(self) -> Option<u64> {
        let d = self.normalised();
        if d.mant < 0 || d.exp < 0 {
            return (d.mant == 0).then_some(0);
        }
        10i128
            .checked_pow(d.exp as u32)
            .and_then(|p| p.checked_mul(d.mant))
            .and_then(|v| u64::try_from(v).ok())
    }

    /// p when the value is exactly 10^p.
    fn power_of_ten(self) -> Option<i32> {
        let d = self.normalised();
        (d.mant == 1).then_some(d.exp)
    }
}

/// num/den · 10^e rounded once to the nearest `f64` (den ≥ 1).
///
/// The quotient is written as a decimal literal, exact when it terminates within 60 fractional
/// digits (always the case when num/den is a dyadic rational, i.e. a possible rounding tie, since
/// den ≤ 10^7 < 2^24) and otherwise followed by a sticky digit 1, which keeps it on the true side of
/// every rounding boundary; `str::parse` then rounds correctly.
fn rational_to_f64(num: i128, den: i128, e: i32) -> f64 {
    let (q, mut r) = (
        num.unsigned_abs() / den as u128,
        num.unsigned_abs() % den as u128,
    );
    let mut text = format!("{}{q}.", if num < 0 { "-" } else { "" });
    for _ in 0..60 {
        if r == 0 {
            break;
        }
        r *= 10;
        text.push(char::from(b'0' + (r / den as u128) as u8));
        r %= den as u128;
    }
    if r != 0 {
        text.push('1');
    }
    text.push_str(&format!("0e{e}"));
    text.parse().expect("a valid literal")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(text: &str) -> Vec<f64> {
        parse_f64s(text).unwrap()
    }

    fn bits(xs: &[f64]) -> Vec<u64> {
        xs.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn lin_0_1_11_gives_exactly_the_decimal_literals() {
        let expected: Vec<f64> = [
            "0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(bits(&f("lin:0:1:11")), bits(&expected));
        // Accumulating the step would give 0.30000000000000004 at j = 3.
        assert_ne!(0.1 + 0.1 + 0.1, 0.3);
    }

    #[test]
    fn lin_with_decimal_ends_matches_the_literals_at_every_index() {
        let expected: Vec<f64> = ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(bits(&f("lin:0.1:0.7:7")), bits(&expected));
        assert_eq!(
            bits(&f("lin:0.7:0.1:7")),
            bits(&expected.iter().rev().copied().collect::<Vec<_>>())
        );
        let thirds = f("lin:0:1:4");
        assert_eq!(
            thirds[1],
            "0.33333333333333333333333".parse::<f64>().unwrap()
        );
        assert_eq!(
            thirds[2],
            "0.66666666666666666666667".parse::<f64>().unwrap()
        );
        assert_eq!(bits(&f("lin:-1:1:5")), bits(&[-1.0, -0.5, 0.0, 0.5, 1.0]));
        assert_eq!(f("lin:2e-3:3e-3:3"), vec![0.002, 0.0025, 0.003]);
    }

    #[test]
    fn log_of_powers_of_ten_gives_exact_powers() {
        assert_eq!(bits(&f("log:1e-3:1:4")), bits(&[0.001, 0.01, 0.1, 1.0]));
        assert_eq!(
            bits(&f("log:0.001:1000:7")),
            bits(&[1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3])
        );
        let half = f("log:1:100:5");
        assert_eq!(half[2], 10.0);
        assert!((half[1] - 10f64.sqrt()).abs() < 1e-15);
        let odd = f("log:2:8:3");
        assert_eq!(odd[0], 2.0);
        assert_eq!(odd[2], 8.0);
        assert!((odd[1] - 4.0).abs() < 1e-14);
    }

    #[test]
    fn lists_and_ranges_mix_in_the_order_given() {
        assert_eq!(f("0.5, 0.1,lin:1:2:3"), vec![0.5, 0.1, 1.0, 1.5, 2.0]);
        assert_eq!(f("lin:3:3:1"), vec![3.0]);
        assert_eq!(
            parse_u64s("100,lin:200:1000:5").unwrap(),
            vec![100, 200, 400, 600, 800, 1000]
        );
        assert_eq!(
            parse_u64s("log:10:10000:4").unwrap(),
            vec![10, 100, 1000, 10000]
        );
        assert_eq!(parse_u64s("1e6").unwrap(), vec![1_000_000]);
        assert_eq!(
            parse_vectors("0.1;0.2,0.3,lin:1:2:2").unwrap(),
            vec![vec![0.1, 0.2], vec![0.3], vec![1.0], vec![2.0]]
        );
    }

    #[test]
    fn malformed_values_are_refused_with_a_reason() {
        let e = |text: &str| parse_f64s(text).unwrap_err().to_string();
        assert!(e("").contains("empty value"));
        assert!(e("0.1,,0.2").contains("empty value"));
        assert!(e("0.1,").contains("empty value"));
        assert!(e("lin:0:1").contains("lin:START:STOP:COUNT"));
        assert!(e("lin:0:1:0").contains("COUNT in 'lin:0:1:0' must be ≥ 1"));
        assert!(e("lin:0:1:-2").contains("must be a whole number"));
        assert!(e("lin:0:1:1").contains("COUNT 1 but START ≠ STOP"));
        assert!(e("log:0:1:3").contains("cannot reach or cross 0"));
        assert!(e("log:-1:1:3").contains("cannot reach or cross 0"));
        assert!(e("lin:a:1:3").contains("START 'a'"));
        assert!(e("lin:0:inf:3").contains("STOP 'inf'"));
        assert!(e("geo:1:2:3").contains("unknown range kind 'geo'"));
        assert!(e("abc").contains("'abc' is not a number"));
        assert!(e("lin:0:1:99999999").contains("must be ≤"));
        let u = |text: &str| parse_u64s(text).unwrap_err().to_string();
        assert!(u("lin:0:10:4").contains("not a non-negative integer"));
        assert!(u("-5").contains("not a non-negative integer"));
        assert!(u("1.5").contains("not a non-negative integer"));
        let v = |text: &str| parse_vectors(text).unwrap_err().to_string();
        assert!(v("0.1;;0.2").contains("empty coordinate"));
        assert!(v("0.1;lin:0:1:2").contains("cannot be a coordinate"));
    }

    #[test]
    fn non_finite_plain_values_reach_the_configuration_check() {
        assert!(f("NaN")[0].is_nan());
    }
}
