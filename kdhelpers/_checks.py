"""Argument checks shared by the public functions: each raises ``ValueError``
naming the bad value and what is allowed."""

from __future__ import annotations

import math
import numbers


def check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; expected one of {sorted(allowed)}")


def check_number(name: str, value) -> float:
    # numbers.Real admits NumPy scalars (np.float32, np.int64) as well as int and float
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be a finite number")
    return float(value)


def check_alpha(alpha) -> float:
    alpha = check_number("alpha", alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha!r} is outside the allowed range [0, 1]")
    return alpha


def check_temperature(temperature) -> float:
    temperature = check_number("temperature", temperature)
    if temperature <= 0.0:
        raise ValueError(f"temperature={temperature!r} must be > 0")
    return temperature


def check_fraction(name: str, value, *, allow_zero: bool = False) -> float:
    value = check_number(name, value)
    inside = 0.0 <= value < 1.0 if allow_zero else 0.0 < value <= 1.0
    if not inside:
        interval = "[0, 1)" if allow_zero else "(0, 1]"
        raise ValueError(f"{name}={value!r} is outside the allowed range {interval}")
    return value


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")
    return int(value)
