"""Image-shaped input: images to rows on the way in, rows to images on the way out.

Estimators keep scikit-learn's contract of 2-D rows; these helpers flatten
``(n, H, W)`` and ``(n, C, H, W)`` arrays, resolve an ``image_shape`` against a
number of features, and shape rows back into images ready for ``imshow``.
"""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._checks import _check_rows


def images_to_rows(X):
    """Flatten a 3-D or 4-D image array to rows; return ``(rows, (C, H, W) or None)``.

    Anything else (2-D arrays, DataFrames, lists) passes through untouched for
    scikit-learn's validation to judge.
    """
    ndim = getattr(X, "ndim", None)
    if ndim not in (3, 4) or not hasattr(X, "reshape"):
        return X, None
    if ndim == 3:
        shape = (1, *X.shape[1:])
    else:
        shape = tuple(X.shape[1:])
        if shape[0] > 4 and shape[-1] in (1, 3, 4):
            raise ValueError(
                f"Images of shape {X.shape} look channels-last (n, H, W, C); skvae takes "
                "(n, C, H, W). Pass np.moveaxis(X, -1, 1)."
            )
    return X.reshape(len(X), int(np.prod(shape))), shape


def resolve_image_shape(image_shape, n_features):
    """Turn ``(H, W)`` or ``(C, H, W)``, one entry possibly -1, into ``(C, H, W)``.

    Raises a ValueError naming the problem if the shape is malformed or does
    not hold exactly ``n_features`` values.
    """
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    valid = (
        len(shape) == 3
        and all(isinstance(s, Integral) and (s > 0 or s == -1) for s in shape)
        and shape.count(-1) <= 1
    )
    if not valid:
        raise ValueError(
            f"image_shape must be (H, W) or (C, H, W) of positive integers, one of which "
            f"may be -1 to be inferred, got {image_shape!r}."
        )
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape and n_features % known == 0:
        shape = tuple(n_features // known if s == -1 else s for s in shape)
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} does not fit rows of {n_features} features "
            f"({'x'.join(map(str, shape))} values per image)."
        )
    return tuple(int(s) for s in shape)


def rows_to_images(rows, image_shape, *, channels_last=True):
    """Shape rows ``(n, C*H*W)`` into images.

    ``channels_last=True`` gives ``(n, H, W, C)``, or ``(n, H, W)`` for one
    channel, which is what ``matplotlib.pyplot.imshow`` takes; otherwise
    ``(n, C, H, W)``. Returns a view where it can.
    """
    images = np.asarray(rows).reshape(len(rows), *image_shape)
    if not channels_last:
        return images
    return images[:, 0] if image_shape[0] == 1 else np.moveaxis(images, 1, -1)


class _ImagesMixin:
    """``as_images``: rows of a model fitted on images, shaped back into images."""

    def as_images(self, X, *, channels_last=True):
        """Shape rows of data (inputs, reconstructions, samples) into images.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows on the training data's scale, e.g. from
            :meth:`inverse_transform` or :meth:`sample`.
        channels_last : bool, default=True
            ``(n, H, W, C)``, or ``(n, H, W)`` for one channel, as
            ``matplotlib.pyplot.imshow`` takes; ``False`` gives ``(n, C, H, W)``.

        Returns
        -------
        images : ndarray
            ``uint8`` if the training data was ``uint8``, otherwise floats,
            clipped to [0, 1] for the Bernoulli likelihood.
        """
        check_is_fitted(self)
        if self.image_shape_ is None:
            raise ValueError(
                f"{type(self).__name__} was fitted on tabular rows, not images: pass "
                "image-shaped X or image_shape=(H, W) / (C, H, W) to fit."
            )
        X = _check_rows(X, f"{type(self).__name__}.as_images takes rows of data, as inverse_transform returns them")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but images have {self.n_features_in_}.")
        if self.input_scale_ == 255:
            X = np.clip(np.rint(X), 0, 255).astype(np.uint8)
        elif self.reconstruction_loss_ == "bce":
            X = np.clip(X, 0, 1)
        return rows_to_images(X, self.image_shape_, channels_last=channels_last)
