#!/usr/bin/env python3
"""Independent reference values for lojasim's random streams and one end-to-end trajectory.

Trajectory i under master seed s uses xoshiro256++ whose four state words are SplitMix64 outputs
number 4i+1 .. 4i+4 of the sequence started at s. This file re-implements both generators from
Vigna's public-domain C code, and one SGD trajectory with Python floats (IEEE double, same
operation order as the Rust code), to produce the expected values in src/rng.rs and src/runner.rs.
Run: python3 scripts/reference/rng_reference.py
"""
import math

M = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


class Xoshiro256pp:
    def __init__(self, seed, index):
        self.s = [mix((seed + (4 * index + j + 1) * GOLDEN) & M) for j in range(4)]

    def next(self):
        s0, s1, s2, s3 = self.s
        result = (rotl((s0 + s3) & M, 23) + s0) & M
        t = (s1 << 17) & M
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        self.s = [s0, s1, s2, s3]
        return result


if __name__ == "__main__":
    print("splitmix64 words, seed 1234567:",
          [mix((1234567 + k * GOLDEN) & M) for k in (1, 2, 3)])
    r = Xoshiro256pp(0, 0)
    print("trajectory 0, seed 0:", [r.next() for _ in range(4)])
    r = Xoshiro256pp(12345, 3)
    print("trajectory 3, seed 12345:", [r.next() for _ in range(2)])
    # F = a θ²/2 in d = 1, ML noise with Rademacher Z, trajectory 0 of seed 7.
    r = Xoshiro256pp(7, 0)
    theta, a, eta, sigma = 0.1, 1.0, 0.3, 10.0
    for k in range(6):
        at = a * theta
        loss = 0.5 * (0.0 + at * theta)
        scale = math.sqrt(sigma * max(loss, 0.0)) / math.sqrt(1.0)
        g = at + (scale if r.next() & 1 else -scale)
        theta = theta - eta * g
        print(f"theta_{k + 1} = {theta!r}")
