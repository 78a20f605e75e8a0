"""Membrane (harmonic) residual correction in O(n): multigrid-preconditioned conjugate gradients on the grid.

Solves the discrete problem of `slra.harmonic_correction` (Li et al. 2019's residual correction) without a sparse
factorisation: the 4-neighbour Laplacian is applied by array shifts on the domain's bounding box, and a geometric
multigrid V-cycle over 2x2-aggregated grids preconditions conjugate gradients on the fine grid, so the converged
field is the exact fine-grid solution whatever the coarse grids merge or bridge.
"""

import warnings

import numpy as np
from scipy import ndimage

OMEGA = 0.8   # weighted-Jacobi damping (optimal smoothing for the 5-point Laplacian)
SWEEPS = 2    # Jacobi sweeps before and after each coarse-grid correction
SPLIT_MAX = 1000  # solve components one by one (each on its own box) up to this many, if that halves the area


class _Level:
    """One grid of the pyramid: the operator (unit weights on the finest grid) and float32 work arrays, one plane
    per right-hand side (`m` fields solved together on the same domain share the operator)."""

    def __init__(self, d, wx=None, wy=None, mask=None, m=1):
        self.d, self.wx, self.wy, self.mask = d, wx, wy, mask
        self.wi = np.zeros(d.shape, np.float32)
        np.divide(OMEGA, d, out=self.wi, where=d > 0)
        self.u, self.f, self.r = (np.zeros((m,) + d.shape, np.float32) for _ in range(3))
        if wx is not None:  # buffers for the weighted neighbour terms
            self.tx, self.ty = np.empty((m,) + wx.shape, np.float32), np.empty((m,) + wy.shape, np.float32)


def _apply(lv, u, out, clean=True):
    """out = A u for each plane of u: deg * u minus the (weighted) 4 neighbours' u; zero off the domain unless
    finest and not clean."""
    np.multiply(lv.d, u, out=out)
    if lv.wx is None:  # finest grid: unit weights, u is zero off the domain
        # The x neighbours as shifts of the flat arrays: contiguous loops, 4x faster than the strided column
        # slices. The finest grid ends in a column off the domain (_solve), where u is 0, so a row's first pixel
        # takes the previous row's last (0) as its left neighbour, as the slices would give; the last column's
        # own garbage lies off the domain, where it is masked here or weighted by 0 in the smoothing.
        flat_out, flat_u = _flat(out), _flat(u)
        flat_out[:-1] -= flat_u[1:]
        flat_out[1:] -= flat_u[:-1]
        out[..., :-1, :] -= u[..., 1:, :]
        out[..., 1:, :] -= u[..., :-1, :]
        if clean:
            out *= lv.mask
        return out
    out[..., :-1] -= np.multiply(lv.wx, u[..., 1:], out=lv.tx)
    out[..., 1:] -= np.multiply(lv.wx, u[..., :-1], out=lv.tx)
    out[..., :-1, :] -= np.multiply(lv.wy, u[..., 1:, :], out=lv.ty)
    out[..., 1:, :] -= np.multiply(lv.wy, u[..., :-1, :], out=lv.ty)
    return out


def _flat(a):
    """A 1-D view of a C-contiguous array (an error, never a silent copy, if it is not one)."""
    if not a.flags.c_contiguous:
        raise ValueError("membrane: a work array is not contiguous")
    return a.reshape(-1)


def _coarsen(wx, wy, g, m=1):
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
    return _Level(d, wxc, wyc, m=m), wxc, wyc, gc


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
            h, w = u.shape[-2] // 2, u.shape[-1] // 2
            fc = levels[k + 1].f[..., :h, :w]
            np.add(r[..., 0::2, 0::2], r[..., 1::2, 0::2], out=fc)
            fc += r[..., 0::2, 1::2]
            fc += r[..., 1::2, 1::2]
            e = _vcycle(levels, k + 1)
            u.reshape(u.shape[:-2] + (h, 2, w, 2))[...] += e[..., :h, None, :w, None]
            if lv.mask is not None:
                u *= lv.mask
        if sweep:
            _apply(lv, u, r, clean=False)
            np.subtract(f, r, out=r)
            r *= lv.wi
            u += r
    return u


def _dot(a, b):
    """The dot product of two arrays without BLAS: its result does not depend on the BLAS thread count (a
    multi-threaded OpenBLAS sums in another order), so a fill gives the same bits in QGIS, in a one-thread batch
    worker and on any machine."""
    return float(np.einsum("i,i->", a.ravel(), b.ravel()))


def _dots(a, b):
    """_dot of each plane of two (m, ...) stacks: the same sums, in the same order, as one plane alone."""
    return np.array([_dot(a[i], b[i]) for i in range(a.shape[0])])


def _solve(act, tg, tv, tol, max_cycles, spread):
    """Fields x (m, H, W), padded to even sides with at least one column off the domain (see _apply), on the
    (h, w) mask `act`; tg: flat indices (in act) of domain pixels next to a boundary value, once per such
    neighbour; tv (m, len(tg)): their values, one row per field; spread (m,): each field's tolerance scale.

    The m fields run conjugate gradients in lockstep, sharing the operator and each V-cycle's Python work; each
    keeps its own step sizes and stops (its x no longer changes) at the iteration where it would stop alone, so
    every field gets the same bits as solved by itself.
    """
    h, w = act.shape
    shape = (h + h % 2, w + 1 + (w + 1) % 2)  # even sides, and a column off the domain for _apply's flat shifts
    m = np.zeros(shape, bool)
    m[:h, :w] = act
    nf = tv.shape[0]
    at = tg // w * shape[1] + tg % w
    g = np.bincount(at, minlength=m.size).astype(np.uint8).reshape(shape)
    r = np.empty((nf,) + shape)  # (filled row by row: no stacked copy of the largest arrays)
    for i in range(nf):
        r[i] = np.bincount(at, weights=tv[i], minlength=m.size).reshape(shape)
    d = g.copy()  # degree: Dirichlet plus domain neighbours
    d[:, :-1] += m[:, 1:]
    d[:, 1:] += m[:, :-1]
    d[:-1] += m[1:]
    d[1:] += m[:-1]
    d *= m
    # float32 degree and mask: same values, and same-type products (twice as fast as uint8 or bool times float)
    levels = [_Level(d.astype(np.float32), mask=m.astype(np.float32), m=nf)]
    wx, wy = m[:, :-1] & m[:, 1:], m[:-1] & m[1:]
    while levels[-1].d.size > 1:
        lv, wx, wy, g = _coarsen(wx, wy, g, nf)
        levels.append(lv)
    del wx, wy, g
    # Conjugate gradients preconditioned by one V-cycle; q holds A p, then the preconditioned residual z.
    x, q = np.zeros((nf,) + shape), np.zeros((nf,) + shape)
    levels[0].f[...] = r
    np.copyto(q, _vcycle(levels))
    rz0 = _dots(r, q)
    rz = rz0.copy()
    p = q.copy()
    done = ~(rz0 > 0)  # fields that have stopped: their step is 0 from then on
    zero = np.zeros(nf)
    for _ in range(max_cycles if not done.all() else 0):
        _apply(levels[0], p, q)
        pq = _dots(p, q)
        done |= ~(pq > 0)  # p = 0: the residual vanished
        if done.all():
            break
        alpha = np.divide(rz, pq, out=zero.copy(), where=~done)
        p *= alpha[:, None, None]  # p is now this step of x
        x += p
        q *= alpha[:, None, None]
        r -= q
        levels[0].f[...] = r
        np.copyto(q, _vcycle(levels))
        rz_new = _dots(r, q)
        step = np.array([max(p[i].max(), -p[i].min()) for i in range(nf)])  # (no temporary copy of p)
        done |= (np.abs(rz_new) <= tol * tol * rz0) & (step <= tol * spread)
        if done.all():
            break
        p *= np.divide(rz_new, rz * alpha, out=zero.copy(), where=~done)[:, None, None]
        p += q
        rz = rz_new
    else:
        if not done.all():
            warnings.warn(f"membrane_correction: no convergence to tol={tol} in {max_cycles} cycles",
                          RuntimeWarning, stacklevel=4)
    return x


def membrane_correction(domain, b_rows, b_cols, b_vals, tol=1e-4, max_cycles=200):
    """Harmonic (membrane) correction field on `domain` with Dirichlet values next to it, in O(n).

    Solves, for every pixel of `domain`, ``deg * u - sum(domain neighbours' u) = sum(Dirichlet neighbours'
    values)`` (4-neighbours; ``deg`` counts the neighbours that are domain or Dirichlet pixels): zero discrete
    Laplacian inside, the given values at the boundary pixels, free (Neumann) at other neighbours and at the
    array edge. This is the system `slra.harmonic_correction` factorises; here conjugate gradients on the
    pixel grid, preconditioned by one geometric multigrid V-cycle (weighted-Jacobi smoothing, 2x2 aggregation
    down to 1 x 1, float32), solve it in time and memory linear in the domain's bounding box (about 70 bytes a
    pixel at peak), or in each component's box when a few components are spread over a larger one. Each 4-connected
    component's boundary values are first shifted by their mid-range, so a constant boundary gives exactly
    that constant, and the tolerance is relative to the largest spread of one component's values.

    Parameters
    ----------
    domain : (h, w) array_like of bool
        Pixels to solve for.
    b_rows, b_cols : (k,) array_like of int
        Boundary pixels holding a value. Pixels outside the array, inside the domain, not 4-adjacent to it or
        with a non-finite value are ignored; of repeated pixels the last one counts.
    b_vals : (k,) or (m, k) array_like of float
        Their values; m rows solve m fields on the same domain and boundary pixels together (the V-cycles' work
        is shared; each field's result is the same as solved alone). A pixel whose value is not finite in one row
        is ignored for that row only.
    tol : float, optional
        Stop when the preconditioned residual norm ``sqrt(r' B r)`` (B the V-cycle) has fallen to `tol` times
        its starting value and the last update changed no pixel by more than `tol` times the spread. The
        maximum error is then typically 1e-5 to 1e-4 times the spread; domains that fold back on themselves
        over long distances (serpentine one-pixel paths with values only at the ends) converge slowly and may
        stop with larger errors: lower `tol` there.
    max_cycles : int, optional
        Most conjugate-gradient iterations (one V-cycle each); a RuntimeWarning says when they ran out.

    Returns
    -------
    ys, xs : (n,) ndarray of intp
        ``np.nonzero(domain)``.
    values : (n,) or (m, n) ndarray of float64
        The field at those pixels (one row per row of `b_vals`); 0 on components with no boundary value next to
        them.

    References
    ----------
    Li, Z., Shen, H., Cheng, Q., Li, W., Zhang, L. (2019). Thick cloud removal in high-resolution satellite
    images using stepwise radiometric adjustment and residual correction. Remote Sensing 11(16), 1925.
    Briggs, W. L., Henson, V. E., McCormick, S. F. (2000). A Multigrid Tutorial, 2nd ed. SIAM.
    """
    domain = np.asarray(domain, bool)
    ys, xs = np.nonzero(domain)
    br, bc = (np.asarray(a, np.int64).ravel() for a in (b_rows, b_cols))
    bv = np.asarray(b_vals, np.float64)
    single = bv.ndim < 2
    bv = bv.reshape(1, -1) if single else bv
    if bv.shape[0] > 1 and not np.isfinite(bv).all():  # the fields' boundaries differ: each on its own
        return ys, xs, np.stack([membrane_correction(domain, br, bc, v, tol, max_cycles)[2] for v in bv])
    x = _field(domain, ys, xs, br, bc, bv, tol, max_cycles)
    return ys, xs, x[0] if single else x


def _field(domain, ys, xs, br, bc, bv, tol, max_cycles):
    """membrane_correction's (m, n) fields, given ys, xs = np.nonzero(domain) and (m, k) boundary values finite
    at the same pixels in every row (or one row)."""
    nf = bv.shape[0]
    if ys.size == 0 or br.size == 0:
        return np.zeros((nf, ys.size))
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = domain[y0:y1, x0:x1]
    h, w = box.shape
    near = (br >= y0 - 1) & (br <= y1) & (bc >= x0 - 1) & (bc <= x1)
    near &= (br >= 0) & (br < domain.shape[0]) & (bc >= 0) & (bc < domain.shape[1])
    flat, last = np.unique((br[near] * domain.shape[1] + bc[near])[::-1], return_index=True)  # last one counts
    v = bv[:, near][:, ::-1][:, last]
    by, bx = flat // domain.shape[1], flat % domain.shape[1]
    keep = np.isfinite(v).all(axis=0) & ~domain[by, bx]
    by, bx, v = by[keep] - y0, bx[keep] - x0, v[:, keep]
    tg, tv = [], []  # box-flat index of each domain pixel next to a boundary value (once per such neighbour)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = by + dy, bx + dx
        ok = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        ok[ok] = box[ny[ok], nx[ok]]
        tg.append(ny[ok] * w + nx[ok])
        tv.append(v[:, ok])
    tg, tv = np.concatenate(tg), np.concatenate(tv, axis=1)
    if tg.size == 0:
        return np.zeros((nf, ys.size))
    # Components: which have boundary values (others stay 0), and the mid-range and spread of their values.
    lab, n = ndimage.label(box)
    comp = lab.ravel()[tg]
    order = np.argsort(comp, kind="stable")
    comp, tg, tv = comp[order], tg[order], tv[:, order]
    starts = np.flatnonzero(np.r_[True, comp[1:] != comp[:-1]])
    ids = comp[starts]
    lo, hi = np.minimum.reduceat(tv, starts, axis=1), np.maximum.reduceat(tv, starts, axis=1)
    mid = np.zeros((nf, n + 1))
    mid[:, ids] = 0.5 * (lo + hi)
    tv -= mid[:, comp]
    objs = ndimage.find_objects(lab) if 1 < ids.size <= SPLIT_MAX else None
    if objs is None or 2 * sum((o[0].stop - o[0].start) * (o[1].stop - o[1].start) for o in objs) > h * w:
        has = np.zeros(n + 1, bool)
        has[ids] = True
        x = _solve(box if ids.size == n else has[lab], tg, tv, tol, max_cycles, (hi - lo).max(axis=1))[:, :h, :w]
        x += mid[:, lab]
        return x[:, box]
    x = np.zeros((nf, h, w))  # components one by one, each on its own box
    for j, i in enumerate(ids):
        sl = objs[i - 1]
        part = lab[sl] == i
        t = slice(starts[j], starts[j + 1] if j + 1 < ids.size else tg.size)
        ty, tx = tg[t] // w - sl[0].start, tg[t] % w - sl[1].start
        xi = _solve(part, ty * part.shape[1] + tx, tv[:, t], tol, max_cycles, hi[:, j] - lo[:, j])
        x[:, sl[0], sl[1]][:, part] = xi[:, :part.shape[0], :part.shape[1]][:, part] + mid[:, i, None]
    return x[:, box]
