"""Agreement between two class rasters: how a mask compares with labels or with another model's mask."""

import numpy as np


def kappa(a, b):
    """Cohen's kappa of two label arrays of the same shape.

    Parameters
    ----------
    a, b : array_like
        Class labels (any integer values), compared pixel by pixel.

    Returns
    -------
    float
        (p_o - p_e) / (1 - p_e): the observed agreement p_o corrected for the agreement p_e expected by chance from
        the class frequencies; 1 for identical labels, 0 for chance agreement (and 1 when both hold one class).

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and Psychological Measurement*
    20(1), 37-46.
    """
    a, b = np.ravel(a), np.ravel(b)
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in size: {a.size} and {b.size}")
    po = float((a == b).mean())
    pe = float(sum((a == c).mean() * (b == c).mean() for c in np.union1d(a, b)))
    return 1.0 if pe == 1.0 else (po - pe) / (1.0 - pe)
