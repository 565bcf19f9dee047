#!/usr/bin/env python3
"""Reference endpoints of lojasim's betting confidence sequence at (x, n), in 30-digit arithmetic."""
from mpmath import mp, mpf, log
mp.dps = 30
def cs(x, n, h, conf=0.95, k=mpf('1.25'), c=mpf('0.5')):
    thr = log(2 / (1 - mpf(conf)))
    x, n, h = mpf(x), mpf(n), mpf(h)
    def up(m):
        lam = min(k * h / (m * (1 - m)), c / m)
        return x * log(1 + lam * (1 - m)) + (n - x) * log(1 - lam * m) >= thr
    def dn(m):
        lam = min(k * h / (m * (1 - m)), c / (1 - m))
        return x * log(1 - lam * (1 - m)) + (n - x) * log(1 + lam * m) >= thr
    def bis(excluded_at, out, inside):
        for _ in range(200):
            mid = (out + inside) / 2
            if excluded_at(mid): out = mid
            else: inside = mid
        return out
    ph = x / n
    lo = bis(up, mpf(0), ph) if x > 0 else mpf(0)
    hi = bis(dn, mpf(1), ph) if x < n else mpf(1)
    return lo, hi
for (x, n, h) in [(4800, 9600, 0.01), (37, 500, 0.01), (9990, 10000, 0.002), (3, 20000, 0.001)]:
    lo, hi = cs(x, n, h)
    print(x, n, h, mp.nstr(lo, 17), mp.nstr(hi, 17))
