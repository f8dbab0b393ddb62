"""Half-up rounding used for M, Y and U before levels and ranks (DOMAIN part 3).

``floor(x·10^d + 0.5 + eps) / 10^d`` so every implementation agrees at the cut points
(a plain ``round`` would turn 89.995 into 89.99 because of binary representation).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def round_half_up(
    x: npt.ArrayLike, decimals: int = 2, eps: float = 1e-9
) -> npt.NDArray[np.float64]:
    """Round half up to ``decimals`` places; NaN stays NaN.

    Args:
        x: any shape, float.
        decimals: number of decimals (profile ``rounding_decimals``).
        eps: tolerance added before ``floor`` (profile ``rounding_eps``).

    Returns:
        float64 array of the same shape.
    """
    scale = 10.0**decimals
    a = np.asarray(x, dtype=np.float64)
    return np.floor(a * scale + 0.5 + eps) / scale
