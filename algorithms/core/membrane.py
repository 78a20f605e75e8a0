"""Membrane (harmonic) residual correction in O(n): multigrid-preconditioned conjugate gradients on the grid.

Solves the same discrete problem as `slra.harmonic_correction` (Li et al. 2019's residual correction) without a
sparse factorisation: the 4-neighbour Laplacian is applied as array shifts on the domain's bounding box, and a
geometric multigrid V-cycle over a pyramid of 2x2-aggregated grids preconditions conjugate gradients on the fine
grid, so the converged field is the exact fine-grid solution whatever the coarse grids merge or bridge.
"""

import numpy as np
from scipy import ndimage

OMEGA = 0.8   # weighted-Jacobi damping (optimal smoothing for the 5-point Laplacian)
SWEEPS = 2    # Jacobi sweeps before and after each coarse-grid correction


class _Level:
    """One grid of the pyramid: the operator (unit weights on the finest grid) and float32 work arrays."""

    def __init__(self, d, wx=None, wy=None, mask=None):
        self.d, self.wx, self.wy, self.mask = d, wx, wy, mask
        self.wi = np.zeros(d.shape, np.float32)
        np.divide(OMEGA, d, out=self.wi, where=d > 0)
        self.u, self.f, self.r = (np.zeros(d.shape, np.float32) for _ in range(3))


def _apply(lv, u, out, clean=True):
    """out = A u on level `lv`: deg * u minus the (weighted) sum of the 4 neighbours' u.

    Zero off the domain, except on the finest grid with clean=False (for smoothing, which ignores those cells).
    """
    np.multiply(lv.d, u, out=out)
    if lv.wx is None:  # finest grid: unit weights, u is zero off the domain
        out[:, :-1] -= u[:, 1:]
        out[:, 1:] -= u[:, :-1]
        out[:-1] -= u[1:]
        out[1:] -= u[:-1]
        if clean:
            out *= lv.mask
        return out
    out[:, :-1] -= lv.wx * u[:, 1:]
    out[:, 1:] -= lv.wx * u[:, :-1]
    out[:-1] -= lv.wy * u[1:]
    out[1:] -= lv.wy * u[:-1]
    return out


def _coarsen(wx, wy, g):
    """Next level from fine edge weights wx (H, W-1), wy (H-1, W) and Dirichlet weights g (H, W), H and W even.

    A coarse cell aggregates 2x2 fine cells; two coarse cells couple with the summed weight of the fine edges
    between them, and a cell's Dirichlet weight is its children's sum (the Galerkin operator P^T A P of
    piecewise-constant prolongation P), all halved: 2-D Galerkin aggregation doubles the Laplacian, and halving
    it is the usual over-correction that restores the rediscretised operator. The result is padded to even sides
    (zeros: outside the domain) unless it is the 1 x 1 coarsest grid.
    """
    hc, wc = g.shape[0] // 2, g.shape[1] // 2
    sh = (1, 1) if (hc, wc) == (1, 1) else (hc + hc % 2, wc + wc % 2)
    gc = np.zeros(sh, np.float32)
    wxc = np.zeros((sh[0], sh[1] - 1), np.float32)
    wyc = np.zeros((sh[0] - 1, sh[1]), np.float32)
    np.add(g[0::2, 0::2], g[1::2, 0::2], out=gc[:hc, :wc], dtype=np.float32)
    gc[:hc, :wc] += g[0::2, 1::2]
    gc[:hc, :wc] += g[1::2, 1::2]
    np.add(wx[0::2, 1::2], wx[1::2, 1::2], out=wxc[:hc, :wc - 1], dtype=np.float32)
    np.add(wy[1::2, 0::2], wy[1::2, 1::2], out=wyc[:hc - 1, :wc], dtype=np.float32)
    for a in (gc, wxc, wyc):
        a *= 0.5
    d = gc.copy()
    d[:, :-1] += wxc
    d[:, 1:] += wxc
    d[:-1] += wyc
    d[1:] += wyc
    return _Level(d, wxc, wyc), wxc, wyc, gc


def _vcycle(levels, k=0):
    """Approximate A^-1 levels[k].f into levels[k].u by a symmetric V-cycle (a symmetric positive definite map)."""
    lv = levels[k]
    u, f, r = lv.u, lv.f, lv.r
    if k == len(levels) - 1:  # 1 x 1: exact
        np.divide(f, lv.d, out=u, where=lv.d > 0)
        return u
    np.multiply(f, lv.wi, out=u)
    for sweep in range(2 * SWEEPS):
        if sweep == SWEEPS:  # coarse-grid correction: restrict the residual (sum of 2x2), prolong by injection
            _apply(lv, u, r)
            np.subtract(f, r, out=r)
            h, w = u.shape[0] // 2, u.shape[1] // 2
            fc = levels[k + 1].f[:h, :w]
            np.add(r[0::2, 0::2], r[1::2, 0::2], out=fc)
            fc += r[0::2, 1::2]
            fc += r[1::2, 1::2]
            e = _vcycle(levels, k + 1)
            u.reshape(h, 2, w, 2)[...] += e[:h, None, :w, None]
            if lv.mask is not None:
                u *= lv.mask
        if sweep:
            _apply(lv, u, r, clean=False)
            np.subtract(f, r, out=r)
            r *= lv.wi
            u += r
    return u


def membrane_correction(domain, b_rows, b_cols, b_vals, tol=1e-4, max_cycles=100):
    """Harmonic (membrane) correction field on `domain` with Dirichlet values next to it, in O(n).

    Solves, for every pixel of `domain`, ``deg * u - sum(domain neighbours' u) = sum(Dirichlet neighbours'
    values)`` (4-neighbours; ``deg`` counts the neighbours that are domain or Dirichlet pixels): zero discrete
    Laplacian inside, the given values at the boundary pixels, free (Neumann) at other neighbours and at the
    array edge. This is the system `slra.harmonic_correction` factorises; here it is solved by conjugate
    gradients preconditioned with one geometric multigrid V-cycle (weighted-Jacobi smoothing, 2x2 aggregation,
    down to 1 x 1) on the domain's bounding box plus one pixel, with time and memory linear in the box's area.
    The boundary values are shifted by their mid-range first, so a constant boundary gives that constant
    exactly, and the tolerance is relative to their spread.

    Parameters
    ----------
    domain : (h, w) array_like of bool
        Pixels to solve for.
    b_rows, b_cols : (k,) array_like of int
        Boundary pixels holding a value. Pixels outside the array, inside the domain, not 4-adjacent to it or
        with a NaN value are ignored; of repeated pixels the last one counts.
    b_vals : (k,) array_like of float
        Their values.
    tol : float, optional
        Stop when the preconditioned residual norm ``sqrt(r' B r)`` (B the V-cycle; with B close to the
        inverse this is the error's energy norm) falls to `tol` times its starting value. The default keeps
        the maximum error well under 1e-3 times the spread of the boundary values.
    max_cycles : int, optional
        Most conjugate-gradient iterations (one V-cycle each).

    Returns
    -------
    ys, xs : (n,) ndarray of intp
        ``np.nonzero(domain)``.
    values : (n,) ndarray of float64
        The field at those pixels; 0 on 4-connected components of the domain with no boundary value next to
        them (also where only a pixel inside the domain has a value, where the direct system is singular).

    References
    ----------
    Li, X., Wang, L., Cheng, Q., Wu, P., Gan, W., Fang, L. (2019). Cloud removal in remote sensing images
    using nonnegative matrix factorization and error correction. Remote Sensing 11(16), 1925.
    Briggs, W. L., Henson, V. E., McCormick, S. F. (2000). A Multigrid Tutorial, 2nd ed. SIAM.
    """
    domain = np.asarray(domain, bool)
    ys, xs = np.nonzero(domain)
    values = np.zeros(ys.size)
    br, bc = (np.asarray(a, np.int64).ravel() for a in (b_rows, b_cols))
    bv = np.asarray(b_vals, np.float64).ravel()
    if ys.size == 0 or br.size == 0:
        return ys, xs, values
    # Bounding box plus one pixel (clipped to the array), padded to even sides.
    y0, x0 = max(ys.min() - 1, 0), max(xs.min() - 1, 0)
    y1, x1 = min(ys.max() + 2, domain.shape[0]), min(xs.max() + 2, domain.shape[1])
    hh, ww = y1 - y0 + (y1 - y0) % 2, x1 - x0 + (x1 - x0) % 2
    dom = np.zeros((hh, ww), bool)
    dom[:y1 - y0, :x1 - x0] = domain[y0:y1, x0:x1]
    inside = (br >= y0) & (br < y1) & (bc >= x0) & (bc < x1)
    by, bx = br[inside] - y0, bc[inside] - x0
    flat, last = np.unique((by * ww + bx)[::-1], return_index=True)  # the last of repeated pixels counts
    v = bv[inside][::-1][last]
    keep = np.isfinite(v) & ~dom.ravel()[flat]
    flat, v = flat[keep], v[keep]
    row, col = flat // ww, flat % ww
    tg, tv = [], []  # domain pixels next to a boundary value, and that value (once per neighbour)
    for off, ok in ((-ww, row > 0), (ww, row < hh - 1), (-1, col > 0), (1, col < ww - 1)):
        nb = flat[ok] + off
        hit = dom.ravel()[nb]
        tg.append(nb[hit])
        tv.append(v[ok][hit])
    tg, tv = np.concatenate(tg), np.concatenate(tv)
    if tg.size == 0:
        return ys, xs, values
    c0 = 0.5 * (tv.min() + tv.max())
    # Components without a boundary value stay 0: drop them from the system.
    lab, n = ndimage.label(dom)
    has = np.zeros(n + 1, bool)
    has[lab.ravel()[tg]] = True
    act = dom if has[1:].all() else has[lab]
    del lab
    g = np.bincount(tg, minlength=dom.size).astype(np.uint8).reshape(dom.shape)
    r = np.bincount(tg, weights=tv - c0, minlength=dom.size).reshape(dom.shape)  # right-hand side
    d = g.copy()
    d[:, :-1] += act[:, 1:]
    d[:, 1:] += act[:, :-1]
    d[:-1] += act[1:]
    d[1:] += act[:-1]
    d *= act
    levels = [_Level(d, mask=act)]
    wx, wy = act[:, :-1] & act[:, 1:], act[:-1] & act[1:]
    while levels[-1].d.size > 1:
        lv, wx, wy, g = _coarsen(wx, wy, g)
        levels.append(lv)
    del wx, wy, g
    # Conjugate gradients on the fine grid, preconditioned by one V-cycle (Briggs et al. 2000, ch. 7 style).
    x = np.zeros(dom.shape)
    q = np.zeros(dom.shape)
    levels[0].f[...] = r
    np.copyto(q, _vcycle(levels))
    rz0 = rz = float(np.vdot(r, q))
    p = q.copy()
    for _ in range(max_cycles if rz0 > 0 else 0):
        _apply(levels[0], p, q)
        alpha = rz / float(np.vdot(p, q))
        p *= alpha
        x += p
        q *= alpha
        r -= q
        levels[0].f[...] = r
        np.copyto(q, _vcycle(levels))
        rz_new = float(np.vdot(r, q))
        if abs(rz_new) <= tol * tol * rz0:
            break
        p *= rz_new / (rz * alpha)
        p += q
        rz = rz_new
    sy, sx = ys - y0, xs - x0
    values = np.where(act[sy, sx], x[sy, sx] + c0, 0.0)
    return ys, xs, values
