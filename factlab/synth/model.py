"""The model of provision use: a latent vulnerability score per household drives whether it
uses any provision, which Jeugd/Wmo/Participatie combination and how many provisions
(calibrated in :mod:`factlab.synth.calibration`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factlab.synth.calibration import (
    BETA,
    CODE_WEIGHTS,
    JWP_COMBOS,
    N_PROVISIONS_DIST,
    OTHER_ONLY_SHARE,
    OTHER_PRIMARY,
    TARGET_ANY,
)
from factlab.synth.dwellings import largest_remainder


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _solve_alpha(z: np.ndarray, target: float) -> float:
    """Intercept so that the mean use probability equals ``target`` (bisection)."""
    lo, hi = -12.0, 6.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _sigmoid(mid + BETA * z).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _rank_assign(
    rng: np.random.Generator, score: np.ndarray, labels_low_to_high: np.ndarray
) -> np.ndarray:
    """Give the lowest labels to the lowest (noisy) scores: a rank copula."""
    out = np.empty_like(labels_low_to_high)
    out[np.argsort(score, kind="stable")] = labels_low_to_high
    return out


@dataclass(frozen=True)
class Usage:
    """In-period provisions of the gemeente's households: users and a user x code bool matrix."""

    users: np.ndarray  # dwelling indices
    codes: tuple[str, ...]
    matrix: np.ndarray  # bool, len(users) x len(codes)
    z: np.ndarray  # latent score of every dwelling


def generate_usage(
    rng: np.random.Generator, wijk_index: np.ndarray, wijk_mu: np.ndarray, catalogue: dict[str, str]
) -> Usage:
    """Draw which households use which provisions, driven by a latent vulnerability score."""
    codes = tuple(catalogue)
    domain = np.array([catalogue[c] for c in codes])
    base_w = np.array([CODE_WEIGHTS[c] for c in codes])
    n = len(wijk_index)
    z = wijk_mu[wijk_index] + rng.standard_normal(n)
    alpha = _solve_alpha(z, TARGET_ANY)
    users = np.flatnonzero(rng.random(n) < _sigmoid(alpha + BETA * z))
    nu = len(users)
    zu = z[users]

    # 1. Jeugd/Wmo/Participatie combination, more domains for higher (noisy) scores.
    other_only = rng.random(nu) < OTHER_ONLY_SHARE
    jwp = np.flatnonzero(~other_only)
    combo_counts = largest_remainder(len(jwp), [s for _, s in JWP_COMBOS])
    tiers: dict[int, list[int]] = {1: [], 2: [], 3: []}
    for ci, ((jeugd, wmo, participatie), _) in enumerate(JWP_COMBOS):
        tiers[jeugd + wmo + participatie].extend([ci] * int(combo_counts[ci]))
    labels = np.concatenate(
        [rng.permutation(np.array(tiers[t], dtype=np.int64)) for t in (1, 2, 3)]
    )
    combo = np.full(nu, -1)
    combo[jwp] = _rank_assign(rng, zu[jwp] + rng.normal(0, 0.8, len(jwp)), labels)
    combo_flags = np.array([c for c, _ in JWP_COMBOS])
    flags = np.zeros((nu, 3), dtype=bool)
    flags[jwp] = combo_flags[combo[jwp]].astype(bool)
    has_j, has_w, has_p = flags[:, 0], flags[:, 1], flags[:, 2]
    ndom = np.maximum(flags.sum(axis=1), 1)

    # 2. Required codes: one per J/W/P domain; users without J/W/P get one other domain.
    matrix = np.zeros((nu, len(codes)), dtype=bool)

    def pick(rows: np.ndarray, dom: str) -> None:
        cols = np.flatnonzero(domain == dom)
        p = base_w[cols] / base_w[cols].sum()
        matrix[rows, cols[rng.choice(len(cols), size=len(rows), p=p)]] = True

    for flag, dom in ((has_j, "jeugd"), (has_w, "wmo"), (has_p, "participatie")):
        pick(np.flatnonzero(flag), dom)
    prim_names = [d for d, _ in OTHER_PRIMARY]
    prim = rng.choice(len(prim_names), size=nu, p=[s for _, s in OTHER_PRIMARY])
    oo = np.flatnonzero(other_only)
    for i, dom in enumerate(prim_names):
        pick(oo[prim[oo] == i], dom)
    kids = has_j | (rng.random(nu) < 0.12) | (other_only & (prim == prim_names.index("onderwijs")))
    has_bij = matrix[:, codes.index("PW-BIJ")]

    # 3. Number of distinct provisions K, calibrated exactly to the target distribution:
    # users with two or three domains draw K >= domains, the rest share what is left by rank
    # of their (noisy) score; bijstand households rank higher, so minima stack up there.
    ks = np.array([k for k, _ in N_PROVISIONS_DIST])
    pk = np.array([s for _, s in N_PROVISIONS_DIST])
    target = largest_remainder(nu, pk)
    k_arr = np.zeros(nu, dtype=np.int64)
    multi = np.flatnonzero(ndom >= 2)
    for d in (2, 3):
        sel = multi[ndom[multi] == d]
        cond = np.where(ks >= d, pk, 0.0)
        k_arr[sel] = rng.choice(ks, size=len(sel), p=cond / cond.sum())
    used = np.array([(k_arr[multi] == k).sum() for k in ks])
    rest = np.flatnonzero(ndom < 2)
    resid = np.clip(target - used, 0, None)
    resid[0] += len(rest) - resid.sum()
    k_labels = np.repeat(ks, resid)
    k_arr[rest] = _rank_assign(
        rng, zu[rest] + 0.8 * has_bij[rest] + rng.normal(0, 0.7, len(rest)), k_labels
    )

    # 4. Fill up to K with profile-dependent weights (Gumbel top-k, without replacement).
    has_min = matrix[:, domain == "minima"].any(axis=1)
    w = np.zeros((nu, len(codes)))
    for i in range(len(codes)):
        d = domain[i]
        b = base_w[i]
        if d == "jeugd":
            w[:, i] = has_j * b * 0.5
        elif d == "wmo":
            w[:, i] = has_w * b * 1.2
        elif d == "participatie":
            w[:, i] = has_p * b * 0.6
        elif d == "minima":
            w[:, i] = b * (0.05 + 8.0 * has_bij + 0.3 * has_p)
        elif d == "schuldhulp":
            w[:, i] = b * (0.12 + 0.5 * has_p + 0.5 * (has_bij | has_min))
        elif d == "welzijn":
            w[:, i] = b * (0.10 + 0.25 * has_w)
        elif d == "onderwijs":
            w[:, i] = kids * 0.35
        else:  # inburgering
            w[:, i] = 0.03 + 0.25 * has_p
    with np.errstate(divide="ignore"):
        keys = np.log(w) + rng.gumbel(size=w.shape)
    keys[matrix] = np.inf
    available = ((w > 0) | matrix).sum(axis=1)
    k_arr = np.minimum(k_arr, available)
    order = np.argsort(-keys, axis=1, kind="stable")
    take = np.arange(len(codes))[None, :] < k_arr[:, None]
    np.put_along_axis(matrix, order, take | np.take_along_axis(matrix, order, axis=1), axis=1)
    return Usage(users=users, codes=codes, matrix=matrix, z=z)
