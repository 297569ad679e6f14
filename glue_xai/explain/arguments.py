"""Checks of ``explain``'s arguments shared by image and spectrum explanations."""
import numpy as np


class SettingError(TypeError, ValueError):
    """An option a method does not take, or a seed that is not an integer.

    Both a TypeError (a wrong argument) and a ValueError (a wrong setting), so code
    catching either, as image and spectrum callers do, sees it.
    """


def check_settings(method, options, allowed, seed):
    """Refuse ``options`` not in ``allowed`` (the method's own settings) and a non-integer seed."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise SettingError(f"method {method!r} has no option(s) {unknown}; its options are {sorted(allowed)}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise SettingError(f"seed must be an integer, got {seed!r}")
