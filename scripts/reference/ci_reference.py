#!/usr/bin/env python3
"""High-precision reference values for the binomial confidence intervals in
src/estimate/interval.rs (Wilson, Clopper-Pearson, Jeffreys), plus the
regularized incomplete beta function and the standard normal quantile.

Everything is computed with mpmath at mp.dps = 40, independently of the Rust
code (no shared algorithm: the Rust side uses a continued fraction with a
Loader-style prefactor; this script integrates the density or uses mpmath's
hypergeometric betainc).

* I_x(a, b): by tanh-sinh quadrature of the density (end panels touching a
  singular endpoint are integrated after the substitution u = t^a), and
  cross-checked against mpmath.betainc(..., regularized=True) wherever its
  hypergeometric series converges (always for a + b <= 2000), otherwise
  against Gauss-Legendre quadrature of the same density.
  Each tail is integrated directly (never as 1 - something small), so both
  tails carry full relative precision. For integer shapes the value at every
  solved quantile is also cross-checked against the equivalent binomial tail
  sum  I_x(k, m) = P(Bin(k + m - 1, x) >= k)  when that sum is cheap.
* Quantiles: a bisection-safeguarded Newton iteration on the tail
  probability (derivative = the exact density), followed by a certificate
  that the tail function changes sign across t*(1 -+ 1e-25).
* The confidence level is taken to be the exact binary double the Rust
  caller passes (e.g. 0.9999 is really 0.99990000000000001101...), so
  alpha = 1 - confidence matches the Rust input bit for bit.

Usage:  python3 reference_values.py > values.txt   (about 15 minutes, one core;
        the run behind the Rust tables is saved as reference_values.out.txt)
Prints Rust array rows ready to paste into the tests.
"""

import sys

import mpmath
from mpmath import mp, mpf

mp.dps = 40

# Relative agreement demanded between the two independent evaluations of a tail.
CROSS_CHECK_RTOL = mpf("1e-25")


def ln_beta(a, b):
    return mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(a + b)


class Beta:
    """Beta(a, b) distribution evaluated to ~35 significant digits."""

    def __init__(self, a, b):
        self.a = mpf(a)
        self.b = mpf(b)
        self.ln_b = ln_beta(self.a, self.b)
        n = self.a + self.b
        self.mean = self.a / n
        self.sd = mp.sqrt(self.a * self.b / (n * n * (n + 1)))
        self.small = n <= 2000

    def pdf(self, t):
        if t <= 0 or t >= 1:
            return mpf(0)
        return mp.exp((self.a - 1) * mp.log(t) + (self.b - 1) * mp.log1p(-t) - self.ln_b)

    def _local_scale(self, x):
        # Width over which the density at x changes by a factor e, capped at
        # one standard deviation: the breakpoints for quadrature are laid out
        # in multiples of it so that each panel sees a smooth, tame integrand.
        slope = abs((self.a - 1) / x - (self.b - 1) / (1 - x))
        scale = self.sd if slope == 0 else min(self.sd, 1 / slope)
        return scale

    def _quad(self, x, upper, method):
        ell = self._local_scale(x)
        far = 80 * self.sd
        pts = [x]
        k = mpf("0.5")
        while k * ell < far:  # panel ends grow by sqrt(2)
            p = x + k * ell if upper else x - k * ell
            if p <= 0 or p >= 1:
                break
            pts.append(p)
            k *= mp.sqrt(2)
        pts.append(mpf(1) if upper else mpf(0))
        if not upper:
            pts.reverse()
        # The panel that touches 0 (or 1) holds the endpoint singularity of the
        # density when a < 1 (or b < 1); tanh-sinh then loses ~15 digits, so
        # that panel is integrated after the substitution u = t^a (v = (1-t)^b),
        # which turns t^(a-1) dt into du/a and leaves a smooth integrand.
        total = mpf(0)
        for lo, hi in zip(pts[:-1], pts[1:]):
            if lo == 0 and self.a < 1:
                total += mp.quad(self._pdf_u, [0, hi ** self.a], method=method)
            elif hi == 1 and self.b < 1:
                total += mp.quad(self._pdf_v, [0, (1 - lo) ** self.b], method=method)
            else:
                total += mp.quad(self.pdf, [lo, hi], method=method)
        return total

    def _pdf_u(self, u):  # density in u = t^a
        if u <= 0:
            return mp.exp(-self.ln_b) / self.a
        return mp.exp((self.b - 1) * mp.log1p(-(u ** (1 / self.a))) - self.ln_b) / self.a

    def _pdf_v(self, v):  # density in v = (1 - t)^b
        if v <= 0:
            return mp.exp(-self.ln_b) / self.b
        return mp.exp((self.a - 1) * mp.log1p(-(v ** (1 / self.b))) - self.ln_b) / self.b

    def tails(self, x, check=True):
        """(I_x(a,b), 1 - I_x(a,b)), each with full relative precision.

        With check=True the quadrature is confirmed by a second, independent
        evaluation (done for every value that is reported or certified; the
        intermediate Newton iterates skip it)."""
        x = mpf(x)
        if x <= 0:
            return mpf(0), mpf(1)
        if x >= 1:
            return mpf(1), mpf(0)
        upper = x > self.mean
        primary = self._quad(x, upper, "tanh-sinh")
        if not check:
            return (1 - primary, primary) if upper else (primary, 1 - primary)
        try:
            # mpmath's hypergeometric betainc, where its series converges.
            # (the upper tail as I_{1-x}(b, a): betainc(a, b, x, 1) would be a
            # difference of two values near 1 and lose the small tail)
            if upper:
                check = mp.betainc(self.b, self.a, 0, 1 - x, regularized=True)
            else:
                check = mp.betainc(self.a, self.b, 0, x, regularized=True)
        except (mp.NoConvergence, ValueError, ZeroDivisionError):
            if self.small:
                raise
            check = self._quad(x, upper, "gauss-legendre")
        if abs(primary - check) > CROSS_CHECK_RTOL * abs(primary):
            raise RuntimeError(f"cross-check failed at x={x}, a={self.a}, b={self.b}: {primary} vs {check}")
        if upper:
            return 1 - primary, primary
        return primary, 1 - primary

    def lower(self, x, check=True):
        return self.tails(x, check)[0]

    def upper(self, x, check=True):
        return self.tails(x, check)[1]

    def quantile(self, p, upper):
        """t with I_t(a,b) = p (upper=False) or 1 - I_t(a,b) = p (upper=True)."""
        p = mpf(p)

        def g(t, check=False):  # increasing in t, root at the quantile
            return p - self.upper(t, check) if upper else self.lower(t, check) - p

        z = mp.sqrt(2) * mp.erfinv(1 - 2 * p)  # Phi^{-1}(1 - p)
        t = self.mean + (z if upper else -z) * self.sd
        lo, hi = mpf(0), mpf(1)
        if not (lo < t < hi):
            t = self.mean
        for _ in range(400):
            gt = g(t)
            if gt < 0:
                lo = t
            else:
                hi = t
            d = self.pdf(t)
            tn = t - gt / d if d > 0 else -1
            if not (lo < tn < hi):
                tn = mp.sqrt(lo * hi) if lo > 0 and hi > 4 * lo else (lo + hi) / 2
            if abs(tn - t) <= mpf("1e-34") * t:
                t = tn
                break
            t = tn
        else:
            raise RuntimeError("quantile did not converge")
        eps = mpf("1e-25")
        if not (g(t * (1 - eps), True) < 0 < g(t * (1 + eps), True)):
            raise RuntimeError(f"quantile certificate failed: a={self.a} b={self.b} p={p}")
        return t


def binomial_upper_sum(k, n_trials, x, max_terms=3_000_000):
    """P(Bin(N, x) >= k) by direct summation, or None when too many terms."""
    x = mpf(x)
    mean = n_trials * x
    if k <= mean:
        return None  # only used for the decaying side, where the sum is short
    term = mp.exp(mp.loggamma(n_trials + 1) - mp.loggamma(k + 1) - mp.loggamma(n_trials - k + 1)
                  + k * mp.log(x) + (n_trials - k) * mp.log1p(-x))
    total = mpf(0)
    j = k
    ratio_base = x / (1 - x)
    for _ in range(max_terms):
        total += term
        if j == n_trials or term < total * mpf("1e-38"):
            return total
        term *= (n_trials - j) * ratio_base / (j + 1)
        j += 1
    return None


def binomial_lower_sum(k, n_trials, x, max_terms=3_000_000):
    """P(Bin(N, x) <= k) by direct summation, or None when too many terms."""
    # P(Bin(N, x) <= k) = P(Bin(N, 1 - x) >= N - k)
    return binomial_upper_sum(n_trials - k, n_trials, 1 - mpf(x), max_terms)


def cross_check_integer(a, b, t, lower_value, upper_value):
    """For integer shapes, confirm the quadrature against a binomial tail sum."""
    if a != int(a) or b != int(b):
        return
    a, b = int(a), int(b)
    n_trials = a + b - 1
    # I_t(a, b) = P(Bin(N, t) >= a);  1 - I_t(a, b) = P(Bin(N, t) <= a - 1)
    s = binomial_upper_sum(a, n_trials, t)
    if s is not None and abs(s - lower_value) > CROSS_CHECK_RTOL * lower_value:
        raise RuntimeError(f"binomial cross-check failed (lower) a={a} b={b}")
    s = binomial_lower_sum(a - 1, n_trials, t)
    if s is not None and abs(s - upper_value) > CROSS_CHECK_RTOL * upper_value:
        raise RuntimeError(f"binomial cross-check failed (upper) a={a} b={b}")


def alpha_half(confidence):
    return (1 - mpf(confidence)) / 2  # mpf(float) is exact


def clopper_pearson(x, n, confidence):
    h = alpha_half(confidence)
    lo = mpf(0)
    hi = mpf(1)
    if x > 0:
        d = Beta(x, n - x + 1)
        lo = d.quantile(h, upper=False)
        cross_check_integer(x, n - x + 1, lo, *d.tails(lo))
    if x < n:
        d = Beta(x + 1, n - x)
        hi = d.quantile(h, upper=True)
        cross_check_integer(x + 1, n - x, hi, *d.tails(hi))
    return lo, hi


def jeffreys(x, n, confidence):
    h = alpha_half(confidence)
    d = Beta(mpf(x) + mpf("0.5"), mpf(n - x) + mpf("0.5"))
    lo = d.quantile(h, upper=False) if x > 0 else mpf(0)
    hi = d.quantile(h, upper=True) if x < n else mpf(1)
    return lo, hi


def normal_quantile(p):
    """Phi^{-1}(p) by Newton on mpmath's ncdf (exact derivative npdf)."""
    p = mpf(p)
    with mp.workdps(60):
        t = -mp.sqrt(-2 * mp.log(p)) if p < 0.5 else mp.sqrt(-2 * mp.log(1 - p))
        if p == 0.5:
            return mpf(0)
        # In logs, so that the tolerance test of findroot is relative even at p = 1e-300.
        lp = mp.log(p)
        t = mp.findroot(lambda u: mp.log(mp.ncdf(u)) - lp, t, solver="newton",
                        df=lambda u: mp.npdf(u) / mp.ncdf(u))
        # certificate
        eps = mpf("1e-40")
        assert (mp.ncdf(t - abs(t) * eps) - p) * (mp.ncdf(t + abs(t) * eps) - p) < 0
        return +t


def wilson(x, n, confidence):
    x, n = mpf(x), mpf(n)
    z = mp.sqrt(2) * mp.erfinv(mpf(confidence))  # Phi^{-1}(1 - alpha/2)
    z2 = z * z
    center = (x + z2 / 2) / (n + z2)
    half = z / (n + z2) * mp.sqrt(x * (n - x) / n + z2 / 4)
    return max(center - half, mpf(0)), min(center + half, mpf(1))


def f64(v):
    """Shortest decimal that round-trips to the double nearest to v."""
    return repr(float(v))


CASES_BETA_QUANTILE_METHODS = [
    # (x, n, confidence)
    (18, 20, 0.95),
    (0, 30, 0.95),
    (4, 200, 0.95),
    (1, 1, 0.95),
    (7, 13, 0.9),
    (7, 13, 0.95),
    (7, 13, 0.99),
    (7, 13, 0.9999),
    (123, 4567, 0.9),
    (123, 4567, 0.95),
    (123, 4567, 0.99),
    (123, 4567, 0.9999),
    (1, 10**6, 0.95),
    (3, 10**8, 0.95),
    (0, 10**8, 0.99),
    (5 * 10**7, 10**8, 0.95),
    (5 * 10**7, 10**8, 0.9999),
    (99_999_990, 10**8, 0.95),
    (10**8, 10**8, 0.99),
    (1_234_567, 10**9, 0.99),
    (10**9, 10**10, 0.95),
    (5 * 10**9, 10**10, 0.95),
    (2, 10**10, 0.9999),
]

CASES_WILSON = [
    (4, 20, 0.95),
    (30, 30, 0.95),
    (0, 30, 0.95),
    (7, 13, 0.9),
    (7, 13, 0.9999),
    (123, 4567, 0.99),
    (3, 10**8, 0.95),
    (5 * 10**7, 10**8, 0.95),
    (99_999_990, 10**8, 0.95),
    (1, 10**10, 0.95),
    (10**9, 10**10, 0.99),
]

# (x, a, b): points for the incomplete beta function itself.
CASES_BETA_CDF = [
    (0.3, 5.0, 7.0),
    (0.2, 0.5, 0.5),
    (0.999, 2.5, 0.7),
    (0.1, 1e-3, 2.0),
    (0.5, 200.5, 300.5),
    (3e-8, 3.0, 99_999_998.0),
    (0.4999, 5e7, 5e7),
    (0.5001, 5e7, 5e7),
    (0.4997, 5e7, 5e7),
    (0.50004, 5e7, 5e7),
    (0.09999, 1e9 + 0.5, 9e9 + 0.5),
    (1.2e-6, 1.5, 999_999.5),
]

CASES_NORMAL_QUANTILE = [0.975, 0.5 + 1e-9, 0.3, 0.075, 0.02, 1e-5, 1e-10, 1e-100, 1e-300, 0.9999]


def main():
    out = sys.stdout
    out.write("// Generated by reference_values.py (mpmath %s, mp.dps = %d)\n" % (mpmath.__version__, mp.dps))
    out.write("// normal_quantile: (p, quantile)\n")
    for p in CASES_NORMAL_QUANTILE:
        out.write(f"({f64(p)}, {f64(normal_quantile(p))}),\n")
    out.flush()

    out.write("// beta_cdf: (x, a, b, lower tail)\n")
    for x, a, b in CASES_BETA_CDF:
        lower, upper = Beta(a, b).tails(x)
        out.write(f"({f64(x)}, {f64(a)}, {f64(b)}, {f64(lower)}),  // upper tail {mp.nstr(upper, 6)}\n")
        out.flush()

    out.write("// Wilson: (x, n, confidence, lo, hi)\n")
    for x, n, c in CASES_WILSON:
        lo, hi = wilson(x, n, c)
        out.write(f"({x}, {n}, {f64(c)}, {f64(lo)}, {f64(hi)}),\n")
    out.flush()

    for name, fun in (("Clopper-Pearson", clopper_pearson), ("Jeffreys", jeffreys)):
        out.write(f"// {name}: (x, n, confidence, lo, hi)\n")
        for x, n, c in CASES_BETA_QUANTILE_METHODS:
            lo, hi = fun(x, n, c)
            out.write(f"({x}, {n}, {f64(c)}, {f64(lo)}, {f64(hi)}),\n")
            out.flush()


if __name__ == "__main__":
    main()
