"""Array type aliases shared by every numerical module."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: Anything numpy turns into a float array: a float, a list, an array.
ArrayLike = npt.ArrayLike

__all__ = ["ArrayLike", "BoolArray", "FloatArray", "IntArray"]
