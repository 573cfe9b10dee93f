"""Resampling policy: which method may be used on which layer, and the errors that say why not.

* Categorical and QA layers (``kind`` ``"class"`` or ``"qa"``) may only use ``nearest`` or
  ``mode``: averaging land-cover codes or QA bit words produces codes that mean nothing.
* ``bilinear`` (and ``cubic``) sample a few source pixels around a point; when the destination
  pixel is more than twice as large as the source pixel they ignore most of the source and
  alias, so they are refused there, pointing at ``average``.
"""

from __future__ import annotations

from modisoft.errors import ResamplingPolicyError

__all__ = [
    "METHODS",
    "FUSE_RULES",
    "CATEGORICAL_METHODS",
    "MAX_INTERPOLATION_DOWNSAMPLING",
    "ResamplingPolicyError",
    "check_method",
    "check_fuse",
]

METHODS = ("nearest", "bilinear", "average", "mode", "min", "max")
"""Resampling methods of :class:`~modisoft.warp.ResamplePlan`."""
AREA_METHODS = ("average", "mode", "min", "max")
CATEGORICAL_METHODS = ("nearest", "mode")
FUSE_RULES = ("first", "last", "min", "max", "mean", "count")
"""How :func:`~modisoft.warp.mosaic` combines overlapping sources, per destination pixel."""
MAX_INTERPOLATION_DOWNSAMPLING = 2.0


def check_method(
    method: str, *, kind: str | None = None, layer: str | None = None, downsampling: float = 1.0
) -> None:
    """Raise :class:`ResamplingPolicyError` unless ``method`` may be used.

    Parameters
    ----------
    method
        The resampling method asked for.
    kind
        The layer kind (``"value"``, ``"qa"``, ``"class"``; from the ``kind`` attribute).
    layer
        The layer name, for the message.
    downsampling
        Destination pixel size over source pixel size (> 1 means coarser output).

    Examples
    --------
    >>> check_method("mode", kind="class")
    >>> check_method("average", kind="qa")
    Traceback (most recent call last):
    ...
    modisoft.errors.ResamplingPolicyError: layer is a qa layer: ...
    """
    what = f"layer {layer!r}" if layer else "layer"
    if method == "cubic":
        if downsampling > MAX_INTERPOLATION_DOWNSAMPLING:
            raise ResamplingPolicyError(_downsampling_message(method, what, downsampling))
        raise ResamplingPolicyError("cubic resampling is not implemented; use 'bilinear'")
    if method not in METHODS:
        raise ResamplingPolicyError(
            f"unknown resampling method {method!r}; use one of {', '.join(METHODS)}"
        )
    if kind in ("qa", "class") and method not in CATEGORICAL_METHODS:
        raise ResamplingPolicyError(
            f"{what} is a {kind} layer: its values are codes, not quantities, so {method!r} "
            f"would invent codes; use 'nearest' or 'mode'"
        )
    if method == "bilinear" and downsampling > MAX_INTERPOLATION_DOWNSAMPLING:
        raise ResamplingPolicyError(_downsampling_message(method, what, downsampling))


def _downsampling_message(method: str, what: str, downsampling: float) -> str:
    return (
        f"{method!r} resampling of {what} to pixels {downsampling:.1f}x larger than the "
        f"source (more than {MAX_INTERPOLATION_DOWNSAMPLING:g}x) would ignore most source "
        "pixels and alias; use method='average' (area-weighted) to downsample"
    )


def check_fuse(fuse: str) -> None:
    """Raise :class:`ResamplingPolicyError` for an unknown fuse rule."""
    if fuse not in FUSE_RULES:
        raise ResamplingPolicyError(
            f"unknown fuse rule {fuse!r}; use one of {', '.join(FUSE_RULES)}"
        )
