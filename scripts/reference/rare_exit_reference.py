#!/usr/bin/env python3
"""Exact reference values of P(exit within K steps) for lojasim's rare-event (adaptive
multilevel splitting) estimator, computed independently of the Rust code.

Usage:  python3 scripts/reference/rare_exit_reference.py > scripts/reference/rare_exit_values.txt
        (about 15 s on one core; needs numpy, scipy, mpmath)

Every number in the output is computed by this script. Lines are `key=value` pairs, one case
a line; `#` lines are comments/checks.

Model (lojasim semantics, d = 1)
--------------------------------
F(t) = a t^2 / 2, gradient a t.  t_0 = t0 (a point).  Ball B = [L, U] = [t0 - r, t0 + r]
(closed).  SGD: t_{k+1} = t_k - eta_k g_k,  g_k = a t_k + s(t_k) Z_k,  with eta_k = eta
(constant) or eta_k = gamma / (k + n0)^q (Robbins-Monro; eta_0 = gamma / n0^q maps t_0 to t_1).
A trajectory exits at the first k in {1, ..., K} with |t_k - t0| > r (strictly), and
P(exit) = sum_{k=1}^K P(first exit at step k).  Every method below sums these first-passage
masses, each a sum of non-negative terms; P(exit) is never formed as 1 - survival.

(a) bounded Gaussian noise, s = sqrt(sigma), Z ~ N(0, 1)  [kind=bounded-gaussian]
    t_{k+1} = m_k t_k - s_k Z_k with m_k = 1 - eta_k a, s_k = eta_k sqrt(sigma): a Gaussian
    AR(1), with transition density p_k(x -> y) = phi((y - m_k x)/s_k)/s_k.
    Let f_k be the sub-density of t_k on B of the paths that have not exited by step k.
      * Step 1 is analytic: t_1 ~ N(m_0 t0, s_0^2), so
            e_1 = Phi((L - m_0 t0)/s_0) + Phi((m_0 t0 - U)/s_0),   f_1 = that normal density on B.
      * For k >= 1:  e_{k+1} = int_B f_k(x) [Phi((L - m_k x)/s_k) + Phi((m_k x - U)/s_k)] dx,
                     f_{k+1}(y) = int_B f_k(x) p_k(x -> y) dx   (y in B).
      * Nystrom discretisation: f_k is carried at the nodes of a composite Gauss-Legendre rule
        on B (P equal panels of `order` nodes; panel width <= 3 s_min, s_min = min_k s_k, so
        the kernel, whose width in x is s_k/m_k, is resolved by every panel).  Both integrals
        are applied with the same rule.  Phi is scipy.special.ndtr, evaluated on the side of
        each tail that is small (arguments as written above), so the exit kernel keeps full
        relative precision however small.  All weights, kernel values and densities are
        positive, so there is no cancellation anywhere: even a first-passage mass of 1e-15
        carries ~1e-15 relative rounding error only.
      * For Robbins-Monro steps the kernel changes each step; it is assembled in blocks of
        target nodes, each using only source nodes with |y - m_k x| <= 15 s_k.  The terms left
        out are each below e^{-112.5} / (s_k sqrt(2 pi)) times a mass <= 1, so they change
        P(exit) by less than K (U - L) e^{-112.5} / s_min < 1e-40 absolutely.
      * Accuracy: each case is solved on two different grids (P panels x 16 nodes and
        ~1.5 P panels x 20 nodes); the finer value is reported and rel_err_estimate is the
        relative difference of the two.  mass_defect = |1 - S_K - sum_k e_k| (S_K the mass of
        f_K, exits computed separately from survival) checks conservation of the discretised
        kernel.  Further independent checks printed as `#` lines: P(exit within 2 or 3 steps)
        against adaptive scipy quadrature of the explicit 1-D / nested 2-D integrals, and plain
        numpy Monte Carlo (>= 10^6 paths, lojasim's update written out) for the
        p ~ 1e-2 cases, with a 95% Wilson interval.

(b) machine-learning noise, Rademacher Z, constant step  [kind=ml-rademacher]
    s(t) = sqrt(sigma F(t)) = sqrt(sigma a / 2) |t|, so
        t_{k+1} = t_k (1 - eta a) - eta sqrt(sigma a/2) |t_k| Z_k = t_k (1 - eta a + c Z'_k),
    with c = eta sqrt(sigma a / 2) and Z'_k = -sign(t_k) Z_k, again a fair +-1 independent of
    the past (sign(t_k) is a function of Z_0..Z_{k-1}).  Hence, with u = 1 - eta a + c and
    d = 1 - eta a - c (the cases have d > 0),  t_k = t0 u^j d^(k-j), j = number of "+" factors,
    and the state at step k is j alone.  Dynamic programme over (k, j): the number N_k(j) of
    surviving +-1 paths of length k ending at j (Python integers; N_{k}(j) = N_{k-1}(j) +
    N_{k-1}(j-1), then the exit states are counted as A_k and zeroed).  The exit set at step k
    is {j : t0 u^j d^(k-j) > t0 + r} plus, if t0 - r > 0, {j : t0 u^j d^(k-j) < t0 - r}
    (t_k > 0 always, so t_k < t0 - r <= 0 is impossible otherwise); since t_k increases with j
    both are index ranges, whose ends are found in 60-digit mpmath arithmetic from the exact
    binary inputs.  Then P(exit) = sum_k A_k / 2^k is an EXACT dyadic rational (printed to
    17 significant digits, rel_err_estimate=0).  The only place rounding can enter is the
    classification of a state lying extremely close to a boundary; boundary_margin is the
    smallest |log(t_k / boundary)| over all lattice states k <= K, j <= k (including
    unreachable ones), and it is 1e-4 or larger in every case, far above the ~1e-13 relative
    rounding a float trajectory accumulates in K steps.  When t0 - r = 0 the lower boundary
    is not counted in the margin: t_k > 0, so the rounded t_k - t0 is >= -t0 = -r and a float
    comparison can never report a lower exit either.  Checks: for K = 20 all 2^20 sign
    sequences are enumerated with lojasim's update in floating point (raw Z, not Z') and the
    exit count must equal the DP's numerator exactly; and a 10^6-path Monte Carlo of the
    p ~ 1e-3 case.

(c) gambler's ruin (an integer-valued walk: the splitting score has ties)  [kind=gambler-ruin]
    Simple random walk from 0, +1 w.p. p, -1 w.p. 1 - p.  P(hit +n before -m)
    = (1 - rho^m)/(1 - rho^(m+n)), rho = (1 - p)/p  (m/(m+n) if p = 1/2), evaluated in exact
    rationals (fractions.Fraction, p = the decimal given, e.g. 0.4 = 2/5; the double 0.4
    differs from 2/5 by ~1e-17 relative, which moves these values by < 1e-15 relative) and
    printed both as the fraction and to 17 digits.  Finite horizon (K=<int>): P(hit +n before -m within K
    steps) by an exact Fraction DP over the interior states -m+1..n-1, summing the mass that
    reaches +n at each step.  Check: a float DP with a very long horizon converges to the
    closed form.
"""

import math
import sys
import time
from fractions import Fraction

import mpmath
import numpy as np
from mpmath import mp, mpf
from scipy import integrate
from scipy.special import ndtr

mp.dps = 60
SQRT_2PI = math.sqrt(2.0 * math.pi)
OUT = []


def emit(line=""):
    print(line)
    sys.stdout.flush()


def g17(x):
    """x (float, Fraction or mpf) to 17 significant digits, correctly rounded from its exact
    value, as d.dddddddddddddddde+XX."""
    if isinstance(x, mpmath.mpf):
        x = Fraction(*mpmath.mpf(x).as_integer_ratio())
    x = Fraction(x)
    if x == 0:
        return "0.0000000000000000e+00"
    sign = "-" if x < 0 else ""
    x = abs(x)
    e = math.floor(math.log10(x.numerator) - math.log10(x.denominator))
    for _ in range(3):  # fix a log10 misjudgement at a power of ten
        scaled = x * Fraction(10) ** (16 - e)
        if scaled >= 10**17:
            e += 1
        elif scaled < 10**16:
            e -= 1
        else:
            break
    digits = round(scaled)  # round half to even, exact
    if digits == 10**17:
        digits //= 10
        e += 1
    d = str(digits)
    return "%s%s.%se%+03d" % (sign, d[0], d[1:], e)


def g3(x):
    return "%.3g" % x


def par(x):
    """A parameter as written in the case (repr of the double, or an int)."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return repr(x)


# --------------------------------------------------------------------------------------------
# (a) bounded Gaussian noise: Nystrom recursion of the sub-density
# --------------------------------------------------------------------------------------------


def step_sizes(schedule, K):
    """eta_k for k = 0..K-1, as lojasim computes them."""
    if schedule[0] == "constant":
        return [float(schedule[1])] * K
    _, gamma, n0, q = schedule
    return [gamma / (k + n0) ** q for k in range(K)]


def gl_nodes(L, U, panels, order):
    xg, wg = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(L, U, panels + 1)
    lo, hi = edges[:-1, None], edges[1:, None]
    x = ((lo + hi) / 2 + (hi - lo) / 2 * xg).ravel()
    w = ((hi - lo) / 2 * wg).ravel()
    return x, w


class Kernel:
    """y -> int_B f(x) phi((y - m x)/s)/s dx on the nodes, in blocks of target nodes."""

    ZCUT = 15.0
    BLOCK = 128

    def __init__(self, x, w, m, s):
        assert m > 0
        mx = m * x
        self.blocks = []
        n = len(x)
        for j0 in range(0, n, self.BLOCK):
            y = x[j0 : j0 + self.BLOCK]
            lo = int(np.searchsorted(mx, y[0] - self.ZCUT * s, "left"))
            hi = int(np.searchsorted(mx, y[-1] + self.ZCUT * s, "right"))
            z = (y[:, None] - mx[None, lo:hi]) / s
            M = np.exp(-0.5 * z * z) * (w[None, lo:hi] / (s * SQRT_2PI))
            self.blocks.append((j0, j0 + len(y), lo, hi, M))

    def apply(self, f):
        out = np.empty_like(f)
        for j0, j1, lo, hi, M in self.blocks:
            out[j0:j1] = M @ f[lo:hi]
        return out


def bounded_gaussian(a, t0, r, sigma, K, schedule, panels, order):
    """Returns (P(exit within K), first-passage masses e_1..e_K, mass defect)."""
    L, U = t0 - r, t0 + r
    etas = step_sizes(schedule, K)
    rs = math.sqrt(sigma)
    x, w = gl_nodes(L, U, panels, order)
    exits = np.empty(K)
    m, s = 1.0 - etas[0] * a, etas[0] * rs
    mu = m * t0
    exits[0] = ndtr((L - mu) / s) + ndtr((mu - U) / s)
    f = np.exp(-0.5 * ((x - mu) / s) ** 2) / (s * SQRT_2PI)
    kern = None
    for k in range(1, K):
        m, s = 1.0 - etas[k] * a, etas[k] * rs
        if kern is None or etas[k] != etas[k - 1]:
            kern = Kernel(x, w, m, s)
        g = w * f
        exits[k] = np.sum(g * (ndtr((L - m * x) / s) + ndtr((m * x - U) / s)))
        f = kern.apply(f)
    total = math.fsum(exits)
    defect = abs(1.0 - math.fsum(w * f) - total)
    return total, exits, defect


def bounded_case(name, a, t0, r, sigma, K, schedule):
    etas = step_sizes(schedule, K)
    s_min = min(etas) * math.sqrt(sigma)
    W = 2 * r
    pa = math.ceil(W / (3.0 * s_min))
    pb = math.ceil(1.5 * pa)
    t = time.time()
    p1, _, _ = bounded_gaussian(a, t0, r, sigma, K, schedule, pa, 16)
    p2, exits, defect = bounded_gaussian(a, t0, r, sigma, K, schedule, pb, 20)
    rel = abs(p1 - p2) / p2
    if schedule[0] == "constant":
        sched = "schedule=constant eta=%s" % par(schedule[1])
    else:
        sched = "schedule=robbins-monro gamma=%s n0=%s q=%s" % tuple(map(par, schedule[1:]))
    emit(
        "case=%s kind=bounded-gaussian %s a=%s t0=%s r=%s sigma=%s K=%d p_exit=%s "
        "rel_err_estimate=%s nodes=%d/%d mass_defect=%s"
        % (name, sched, par(a), par(t0), par(r), par(sigma), K, g17(p2), g3(rel),
           16 * pa, 20 * pb, g3(defect))
    )
    emit("#   %s: coarse grid p_exit=%s; %.1f s" % (name, g17(p1), time.time() - t))
    return p2


def bounded_quadrature_check(a, t0, r, sigma, eta):
    """P(exit within 2) and (within 3) by adaptive quadrature of the explicit integrals."""
    L, U = t0 - r, t0 + r
    m, s = 1.0 - eta * a, eta * math.sqrt(sigma)
    mu = m * t0
    dens = lambda x, c: math.exp(-0.5 * ((x - c) / s) ** 2) / (s * SQRT_2PI)
    out = lambda x: ndtr((L - m * x) / s) + ndtr((m * x - U) / s)
    e1 = out(t0)
    kw = dict(epsabs=0.0, epsrel=1e-13, limit=200)
    e2 = integrate.quad(lambda x: dens(x, mu) * out(x), L, U, points=[mu], **kw)[0]
    inner = lambda x1: integrate.quad(lambda x2: dens(x2, m * x1) * out(x2), L, U,
                                      points=[min(max(m * x1, L), U)], **kw)[0]
    e3 = integrate.quad(lambda x1: dens(x1, mu) * inner(x1), L, U, points=[mu], **kw)[0]
    ref2, ref3 = e1 + e2, e1 + e2 + e3
    sched = ("constant", eta)
    panels = math.ceil(2 * r / (3.0 * s))
    n2 = bounded_gaussian(a, t0, r, sigma, 2, sched, panels, 16)[0]
    n3 = bounded_gaussian(a, t0, r, sigma, 3, sched, panels, 16)[0]
    emit(
        "# check bounded-gaussian a=%s t0=%s r=%s sigma=%s eta=%s: K=2 nystrom=%s quad=%s "
        "rel_diff=%s; K=3 nystrom=%s quad=%s rel_diff=%s"
        % (par(a), par(t0), par(r), par(sigma), par(eta), g17(n2), g17(ref2),
           g3(abs(n2 / ref2 - 1)), g17(n3), g17(ref3), g3(abs(n3 / ref3 - 1)))
    )


def wilson(x, n, z=1.959963984540054):
    ph = x / n
    den = 1 + z * z / n
    c = (ph + z * z / (2 * n)) / den
    h = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / den
    return c - h, c + h


def mc_report(name, ref, exits, paths, seed):
    lo, hi = wilson(exits, paths)
    emit(
        "# mc-check case=%s paths=%d seed=%d exits=%d p_hat=%s ci95=[%s,%s] reference=%s "
        "inside_ci=%s z=%.2f"
        % (name, paths, seed, exits, g3(exits / paths), g3(lo), g3(hi), g17(ref),
           "yes" if lo <= ref <= hi else "NO",
           (exits / paths - ref) / math.sqrt(ref * (1 - ref) / paths))
    )


def mc_bounded(name, ref, a, t0, r, sigma, K, schedule, paths=1_000_000, seed=20240611):
    """Plain Monte Carlo with lojasim's update: g = a t + sqrt(sigma) Z, t -= eta_k g."""
    rng = np.random.default_rng(seed)
    etas = step_sizes(schedule, K)
    rs = math.sqrt(sigma)
    exits = 0
    chunk = 200_000
    for start in range(0, paths, chunk):
        n = min(chunk, paths - start)
        t = np.full(n, t0)
        alive = np.ones(n, bool)
        for k in range(K):
            z = rng.standard_normal(n)
            t = t - etas[k] * (a * t + rs * z)
            alive &= np.abs(t - t0) <= r
        exits += int(n - alive.sum())
    mc_report(name, ref, exits, paths, seed)


# --------------------------------------------------------------------------------------------
# (b) machine-learning noise, Rademacher: exact lattice DP
# --------------------------------------------------------------------------------------------


def ml_rademacher(a, t0, r, eta, sigma, K):
    """Returns (exact P(exit within K), exact P(exit through t0 + r), exits per step, margin,
    c, u, d); probabilities as Fractions."""
    a_, t0_, r_, eta_, s_ = (mpf(v) for v in (a, t0, r, eta, sigma))
    c = eta_ * mp.sqrt(s_ * a_ / 2)
    u, d = 1 - eta_ * a_ + c, 1 - eta_ * a_ - c
    assert d > 0 and u > d
    lu, ld = mp.log(u), mp.log(d)
    D = lu - ld
    upper = mp.log((t0_ + r_) / t0_)
    lower = mp.log((t0_ - r_) / t0_) if t0_ - r_ > 0 else None
    counts = [1]
    num = 0
    num_up = 0
    margin = mp.inf
    per_step = []
    for k in range(1, K + 1):
        new = [0] * (k + 1)
        for j, cn in enumerate(counts):
            if cn:
                new[j] += cn
                new[j + 1] += cn
        absorbed = 0
        # log(t_k / t0) = j D + k ld: exits up iff j > xu
        xu = (upper - k * ld) / D
        margin = min(margin, abs(xu - mp.nint(xu)) * D)
        jhi = int(mp.floor(xu)) + 1
        for j in range(max(jhi, 0), k + 1):
            absorbed += new[j]
            new[j] = 0
        num_up += absorbed << (K - k)
        if lower is not None:  # exits down iff j < xl
            xl = (lower - k * ld) / D
            margin = min(margin, abs(xl - mp.nint(xl)) * D)
            jlo = int(mp.ceil(xl)) - 1
            for j in range(0, min(jlo, k) + 1):
                absorbed += new[j]
                new[j] = 0
        per_step.append(absorbed)
        num += absorbed << (K - k)
        counts = new
    return Fraction(num, 1 << K), Fraction(num_up, 1 << K), per_step, margin, c, u, d


def ml_case(name, a, t0, r, eta, sigma, K):
    t = time.time()
    P, P_up, per_step, margin, c, u, d = ml_rademacher(a, t0, r, eta, sigma, K)
    emit(
        "case=%s kind=ml-rademacher schedule=constant a=%s t0=%s r=%s eta=%s sigma=%s K=%d "
        "p_exit=%s rel_err_estimate=0 boundary_margin=%s"
        % (name, par(a), par(t0), par(r), par(eta), par(sigma), K, g17(P),
           mpmath.nstr(margin, 3))
    )
    first = next(k for k, A in enumerate(per_step, 1) if A)
    emit("#   %s: c=%s u=%s d=%s; first exit possible at step %d; P = N/2^%d exactly; "
         "through t0+r: %s, through t0-r: %s; %.1f s"
         % (name, mpmath.nstr(c, 17), mpmath.nstr(u, 17), mpmath.nstr(d, 17), first, K,
            g17(P_up), g17(P - P_up), time.time() - t))
    return P


def ml_enumeration_check(a, t0, r, eta, sigma, K=20):
    """All 2^K raw sign sequences through lojasim's float update; exit count vs the DP."""
    n = 1 << K
    idx = np.arange(n, dtype=np.int64)
    t = np.full(n, float(t0))
    alive = np.ones(n, bool)
    for k in range(K):
        z = np.where((idx >> k) & 1, 1.0, -1.0)
        loss = 0.5 * a * t * t
        g = a * t + np.sqrt(sigma * loss) * z
        t = t - eta * g
        alive &= np.abs(t - t0) <= r
    enum = int(n - alive.sum())
    P = ml_rademacher(a, t0, r, eta, sigma, K)[0]
    dp = P.numerator * (n // P.denominator)
    emit("# check ml-rademacher a=%s t0=%s r=%s eta=%s sigma=%s K=%d: enumeration exits=%d "
         "of 2^%d, DP exits=%d, equal=%s"
         % (par(a), par(t0), par(r), par(eta), par(sigma), K, enum, K, dp,
            "yes" if enum == dp else "NO"))


def mc_ml(name, ref, a, t0, r, eta, sigma, K, paths=1_000_000, seed=20240612):
    rng = np.random.default_rng(seed)
    exits = 0
    chunk = 200_000
    for start in range(0, paths, chunk):
        n = min(chunk, paths - start)
        t = np.full(n, t0)
        alive = np.ones(n, bool)
        for k in range(K):
            z = rng.integers(0, 2, n, dtype=np.int8) * 2.0 - 1.0
            t = t - eta * (a * t + np.sqrt(sigma * (0.5 * a * t * t)) * z)
            alive &= np.abs(t - t0) <= r
        exits += int(n - alive.sum())
    mc_report(name, float(ref), exits, paths, seed)


# --------------------------------------------------------------------------------------------
# (c) gambler's ruin
# --------------------------------------------------------------------------------------------


def ruin_closed(p, m, n):
    p = Fraction(p)
    if p == Fraction(1, 2):
        return Fraction(m, m + n)
    rho = (1 - p) / p
    return (1 - rho**m) / (1 - rho ** (m + n))


def ruin_horizon(p, m, n, K, exact=True):
    """P(hit +n before -m within K steps) by DP over states -m+1..n-1 (index i + m - 1)."""
    p = Fraction(p) if exact else float(Fraction(p))
    q = 1 - p
    zero = Fraction(0) if exact else 0.0
    size = m + n - 1
    v = [zero] * size
    v[m - 1] = Fraction(1) if exact else 1.0
    hit = zero
    for _ in range(K):
        new = [zero] * size
        hit += p * v[size - 1]  # state n-1 steps up to +n
        for i in range(size):
            if v[i]:
                if i + 1 < size:
                    new[i + 1] += p * v[i]
                if i - 1 >= 0:
                    new[i - 1] += q * v[i]
        v = new
    return hit


def ruin_case(name, p, m, n, K=None):
    if K is None:
        P = ruin_closed(p, m, n)
        emit("case=%s kind=gambler-ruin p=%s m=%d n=%d K=inf p_hit=%s exact=%s/%s"
             % (name, p, m, n, g17(P), P.numerator, P.denominator))
    else:
        P = ruin_horizon(p, m, n, K)
        emit("case=%s kind=gambler-ruin p=%s m=%d n=%d K=%d p_hit=%s"
             % (name, p, m, n, K, g17(P)))
    return P


def ruin_check(p, m, n, K):
    closed = ruin_closed(p, m, n)
    long = ruin_horizon(p, m, n, K, exact=False)
    emit("# check gambler-ruin p=%s m=%d n=%d: float DP with K=%d gives %s, closed form %s, "
         "rel_diff=%s" % (p, m, n, K, g17(long), g17(closed), g3(abs(long / float(closed) - 1))))


# --------------------------------------------------------------------------------------------


def main():
    t_start = time.time()
    emit("# rare_exit_values.txt -- generated by scripts/reference/rare_exit_reference.py")
    emit("# numpy %s, scipy %s, mpmath %s, python %s"
         % (np.__version__, __import__("scipy").__version__, mpmath.__version__,
            sys.version.split()[0]))
    emit("# exit: first k in 1..K with |t_k - t0| > r; p_exit = sum of first-passage masses")
    emit("#")
    emit("# (a) bounded Gaussian noise, Nystrom / Gauss-Legendre (value from the finer grid;")
    emit("#     rel_err_estimate = relative difference to the coarser grid)")
    rm = lambda gamma, n0, q: ("robbins-monro", gamma, n0, q)
    cases = [
        ("bg-const-1e-2", 1.0, 0.3, 0.5, 0.064, 100, ("constant", 0.1)),
        ("bg-const-1e-4", 1.0, 0.3, 0.5, 0.029, 1000, ("constant", 0.1)),
        ("bg-const-1e-6", 1.0, 0.3, 0.5, 0.0214, 1000, ("constant", 0.1)),
        ("bg-const-1e-9", 1.0, 0.3, 0.5, 0.032, 1000, ("constant", 0.05)),
        ("bg-const-1e-12", 1.0, 0.3, 0.5, 0.0121, 1000, ("constant", 0.1)),
        ("bg-rm-1e-2", 1.0, 0.3, 0.5, 1.5, 100, rm(0.1, 1.0, 0.75)),
        ("bg-rm-1e-4", 1.0, 0.3, 0.5, 0.75, 100, rm(0.1, 1.0, 0.75)),
        ("bg-rm-1e-9", 1.0, 0.3, 0.5, 0.32, 100, rm(0.1, 1.0, 0.75)),
    ]
    refs = {}
    for c in cases:
        refs[c[0]] = bounded_case(*c)
    bounded_quadrature_check(1.0, 0.3, 0.1, 0.5, 0.1)
    bounded_quadrature_check(2.0, 0.3, 0.2, 1.0, 0.05)
    bounded_quadrature_check(1.0, 0.3, 0.5, 0.15, 0.1)  # a rare one: tails keep their digits
    for c in cases:
        if c[0] in ("bg-const-1e-2", "bg-rm-1e-2", "bg-rm-1e-4"):
            mc_bounded(c[0], refs[c[0]], *c[1:])

    emit("#")
    emit("# (b) ML noise sqrt(sigma F) with Rademacher Z, constant step: exact lattice DP")
    ml_cases = [
        ("ml-1e-3", 1.0, 0.3, 0.3, 0.05, 11.0, 200),
        ("ml-1e-6", 1.0, 0.3, 0.3, 0.05, 5.8, 200),
        ("ml-1e-9", 1.0, 0.3, 0.3, 0.05, 4.4, 200),
        ("ml-1e-11", 1.0, 0.3, 0.3, 0.05, 4.0, 1000),
        ("ml-1e-12", 1.0, 0.3, 0.3, 0.05, 3.7, 200),
        ("ml-two-sided", 1.0, 0.3, 0.2, 0.05, 20.0, 20),
    ]
    mlrefs = {}
    for c in ml_cases:
        mlrefs[c[0]] = ml_case(*c)
    ml_enumeration_check(1.0, 0.3, 0.3, 0.05, 11.0, 20)
    ml_enumeration_check(1.0, 0.3, 0.2, 0.05, 20.0, 20)
    mc_ml("ml-1e-3", mlrefs["ml-1e-3"], *ml_cases[0][1:])

    emit("#")
    emit("# (c) gambler's ruin from 0: P(hit +n before -m) [within K steps]")
    ruin_case("ruin-half-1-5", "0.5", 1, 5)
    ruin_case("ruin-0.4-2-10", "0.4", 2, 10)
    ruin_case("ruin-0.3-3-20", "0.3", 3, 20)
    ruin_case("ruin-0.25-1-20", "0.25", 1, 20)
    ruin_case("ruin-half-3-8-K200", "0.5", 3, 8, 200)
    ruin_case("ruin-0.3-3-20-K200", "0.3", 3, 20, 200)
    ruin_check("0.5", 1, 5, 20000)
    ruin_check("0.3", 3, 20, 20000)
    emit("# total run time %.0f s" % (time.time() - t_start))


if __name__ == "__main__":
    main()
