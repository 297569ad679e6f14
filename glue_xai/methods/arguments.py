"""Checks of ``explain``'s arguments shared by image and spectrum explanations."""
import numpy as np


class SettingError(TypeError, ValueError):
    """An option a method does not take, or a seed that is not a non-negative integer.

    Both a TypeError (a wrong argument) and a ValueError (a wrong setting), so code
    catching either, as image and spectrum callers do, sees it.
    """


def check_settings(method, options, allowed, seed):
    """Refuse ``options`` not in ``allowed`` (the method's own settings) and a seed that is not
    an integer from 0 to 2**32 - 1."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise SettingError(f"method {method!r} has no option(s) {unknown}; its options are {sorted(allowed)}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise SettingError(f"seed must be an integer, got {seed!r}")
    if not 0 <= seed < 2 ** 32:  # numpy's and torch's generators take seeds in this range
        raise SettingError(f"seed must be an integer from 0 to 2**32 - 1, got {seed}")
