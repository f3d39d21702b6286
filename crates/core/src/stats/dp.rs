//! Exact, integer-valued noise for differential privacy: the discrete Laplace
//! distribution sampled as in Canonne, Kamath and Steinke, "The Discrete Gaussian for
//! Differential Privacy" (NeurIPS 2020), Algorithms 1 and 2, from the operating
//! system's CSPRNG. Only integer arithmetic and uniform integers are used: no floating
//! point touches a sample, so there is no Mironov-style leak through the low bits.
//!
//! Written here rather than taken from the `opendp` crate: that crate pulls in a large
//! framework (and polars) for two small functions; the samplers are checked against
//! OpenDP's Python package in `core/tests/stats.rs`.
//!
//! ε is a decimal with at most six places, held as the rational `ε = num / den`.

use rand::{CryptoRng, Rng, RngCore};

/// ε as a fraction of integers, from text such as `1`, `0.5` or `0.125`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epsilon {
    pub num: u64,
    pub den: u64,
}

impl Epsilon {
    /// Parses a positive decimal with at most six places, up to 100.
    pub fn parse(text: &str) -> Option<Epsilon> {
        let text = text.trim();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && frac.is_empty()
            || frac.len() > 6
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let den = 10u64.pow(u32::try_from(frac.len()).ok()?);
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let frac: u64 = if frac.is_empty() {
            0
        } else {
            frac.parse().ok()?
        };
        let num = whole.checked_mul(den)?.checked_add(frac)?;
        let (num, den) = reduce(num, den);
        (num > 0 && num <= 100 * den).then_some(Epsilon { num, den })
    }

    /// ε in millionths (exact: at most six decimal places).
    pub fn micros(self) -> i64 {
        i64::try_from(u128::from(self.num) * 1_000_000 / u128::from(self.den)).unwrap_or(i64::MAX)
    }

    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn reduce(num: u64, den: u64) -> (u64, u64) {
    let g = gcd(num, den).max(1);
    (num / g, den / g)
}

/// Bernoulli(n / d), exactly.
fn bernoulli<R: RngCore + CryptoRng>(rng: &mut R, n: u128, d: u128) -> bool {
    rng.gen_range(0..d) < n
}

/// Bernoulli(exp(−n/d)) for n/d ≥ 0 (CKS20 Algorithm 1).
pub fn bernoulli_exp<R: RngCore + CryptoRng>(rng: &mut R, n: u128, d: u128) -> bool {
    if n <= d {
        let mut k: u128 = 1;
        loop {
            if !bernoulli(rng, n, d * k) {
                return k % 2 == 1;
            }
            k += 1;
        }
    }
    for _ in 0..(n / d) {
        if !bernoulli_exp(rng, 1, 1) {
            return false;
        }
    }
    bernoulli_exp(rng, n % d, d)
}

/// One sample of the discrete Laplace distribution with scale `t / s`:
/// P(x) ∝ exp(−|x|·s/t) (CKS20 Algorithm 2).
pub fn discrete_laplace<R: RngCore + CryptoRng>(rng: &mut R, s: u128, t: u128) -> i64 {
    loop {
        let u = rng.gen_range(0..t);
        if !bernoulli_exp(rng, u, t) {
            continue;
        }
        let mut v: u128 = 0;
        while bernoulli_exp(rng, 1, 1) {
            v += 1;
        }
        let x = u + t * v;
        let y = i64::try_from(x / s).unwrap_or(i64::MAX);
        let negative: bool = rng.gen();
        if negative && y == 0 {
            continue;
        }
        return if negative { -y } else { y };
    }
}

/// Noise for a count whose units each change it by at most `sensitivity`, at `eps`:
/// discrete Laplace with scale `sensitivity / ε`.
pub fn noise<R: RngCore + CryptoRng>(rng: &mut R, sensitivity: u64, eps: Epsilon) -> i64 {
    discrete_laplace(
        rng,
        u128::from(eps.num),
        u128::from(sensitivity) * u128::from(eps.den),
    )
}

/// The threshold a noisy count must reach to be released (differentially private
/// partition selection by Laplace thresholding): a value held by no unit is released
/// with probability at most `delta` per unit, since `P(Lap(b) ≥ τ − 1) ≤ exp(−(τ−1)/b)/2`
/// for each of the `sensitivity` cells a unit may open. Never below `k`.
pub fn threshold(sensitivity: u64, eps: Epsilon, delta: f64, k: u64) -> i64 {
    let scale = sensitivity as f64 / eps.as_f64();
    let per_cell = delta / sensitivity.max(1) as f64;
    let tau = 1.0 + scale * (1.0 / (2.0 * per_cell)).ln();
    (tau.ceil() as i64).max(i64::try_from(k).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_is_read_as_an_exact_fraction() {
        assert_eq!(Epsilon::parse("1"), Some(Epsilon { num: 1, den: 1 }));
        assert_eq!(Epsilon::parse("0.5"), Some(Epsilon { num: 1, den: 2 }));
        assert_eq!(Epsilon::parse("0.125").map(Epsilon::micros), Some(125_000));
        for bad in ["", "0", "-1", "1e3", "0.1234567", "abc", "101", "."] {
            assert_eq!(Epsilon::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn bernoulli_exp_matches_its_probability() {
        let mut rng = rand::rngs::OsRng;
        let n = 40_000;
        for (num, den) in [(1u128, 2u128), (3, 1), (0, 1)] {
            let hits = (0..n).filter(|_| bernoulli_exp(&mut rng, num, den)).count();
            let p = (-(num as f64) / den as f64).exp();
            let got = hits as f64 / n as f64;
            assert!(
                (got - p).abs() < 0.015,
                "exp(-{num}/{den}) = {p}, sampled {got}"
            );
        }
    }

    #[test]
    fn discrete_laplace_is_symmetric_with_the_right_spread() {
        let mut rng = rand::rngs::OsRng;
        let n = 40_000;
        let eps = Epsilon { num: 1, den: 1 };
        let samples: Vec<i64> = (0..n).map(|_| noise(&mut rng, 1, eps)).collect();
        let zero = samples.iter().filter(|x| **x == 0).count() as f64 / n as f64;
        // P(0) = (1 − e^−1) / (1 + e^−1) ≈ 0.4621 for scale 1.
        let expected = (1.0 - (-1f64).exp()) / (1.0 + (-1f64).exp());
        assert!((zero - expected).abs() < 0.015, "P(0) {zero} vs {expected}");
        let mean = samples.iter().sum::<i64>() as f64 / n as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
    }

    #[test]
    fn the_threshold_grows_with_noise_and_never_drops_below_k() {
        let one = Epsilon { num: 1, den: 1 };
        assert_eq!(threshold(1, one, 1e-6, 10), 15);
        assert!(threshold(5, one, 1e-6, 10) > threshold(1, one, 1e-6, 10));
        assert_eq!(threshold(1, Epsilon { num: 100, den: 1 }, 1e-6, 10), 10);
    }
}
