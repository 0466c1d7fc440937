"""Generation: sampling new rows, and walking the latent space (interpolate, traverse)."""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._priors import StandardNormal


class _GenerationMixin:
    """``sample``, ``interpolate`` and ``traverse``, from the codes a model's prior gives."""

    def sample(self, n_samples=1, random_state=None):
        """Generate new rows in data space.

        Codes are drawn from the prior N(0, I) for the variational models, and
        from ``latent_density_`` (a Gaussian mixture fitted to the training
        codes) for the autoencoder and for the VAEs with ``sampler="gmm"``,
        then decoded with :meth:`inverse_transform`.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draw; an int gives the same rows every call.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float32
            :meth:`as_images` shapes them into images.
        """
        return self._sample(n_samples, random_state)

    def _sample(self, n_samples, random_state, **condition):
        """Every model's ``sample``: check ``n_samples``, fix what the rows are drawn under
        (``condition``, from the model's own keyword arguments), draw their codes, decode them."""
        _check_n_samples(self, n_samples)
        rng = check_random_state(random_state)
        condition = self._sample_condition(n_samples, rng, **condition)
        Z = self._sample_codes(n_samples, rng, **condition).astype(np.float32)
        return self._decode_samples(Z, **condition)

    def _sample_condition(self, n_samples, rng):
        """What ``sample``'s own arguments ask for (a class, clusters), checked, as keywords of the next two steps.

        A model draws with ``rng`` here what was not given (before the codes are drawn).
        """
        return {}

    def _sample_codes(self, n_samples, rng, **condition):
        """Codes drawn from the model's prior, shape (n_samples, n_components)."""
        return self._prior().sample(n_samples, rng, **condition)

    def _prior(self):
        """What the fitted model draws new codes from: an object of ``skvae._priors``."""
        return StandardNormal(self.n_components)

    @property
    def prior_(self):
        """The distribution :meth:`sample` draws codes from, fitted.

        N(0, I) for the variational models, the mixture fitted to the training
        codes for the autoencoder, the learned mixture for GaussianMixtureVAE
        and the codebook frequencies for the VQ-VAE. It has
        ``sample(n_samples, rng)``, ``log_prob(Z)``, ``center_and_spread(dim)``,
        ``quantiles(q)`` and ``source`` (how a plot names it).
        """
        check_is_fitted(self)
        return self._prior()

    def _decode_samples(self, Z, **condition):
        """Rows in data space for drawn codes (float32)."""
        return self.inverse_transform(Z)

    def interpolate(self, x_start, x_end, n_steps=10, *, method="linear"):
        """Decode evenly spaced points on the path between the codes of two inputs.

        Parameters
        ----------
        x_start, x_end : array-like
            One sample each (a row, or an image of the training shape).
        n_steps : int, default=10
            Number of points, both ends included.
        method : {"linear", "spherical"}, default="linear"
            A straight line between the two posterior means, or the great
            circle between them (spherical linear interpolation), which keeps
            intermediate codes at a typical distance from the origin of a
            Gaussian prior instead of cutting through its low-density centre.

        Returns
        -------
        X_path : ndarray of shape (n_steps, n_features)
            Rows in data space; the first and last are the reconstructions of
            ``x_start`` and ``x_end``.
        """
        check_is_fitted(self)
        if method not in ("linear", "spherical"):
            raise ValueError(f"method must be 'linear' or 'spherical', got {method!r}.")
        if not isinstance(n_steps, Integral) or n_steps < 2:
            raise ValueError(f"n_steps must be an integer of at least 2, got {n_steps!r}.")
        z_start, z_end = self._codes_of_samples(x_start=x_start, x_end=x_end)
        return self.inverse_transform(_latent_path(z_start, z_end, n_steps, method))

    def traverse(self, x, dim, values=None):
        """Decode the code of ``x`` with one latent dimension set to each of ``values``.

        This is the beta-VAE view of disentanglement: if dimension ``dim``
        captures one factor of variation, only that factor changes.

        Parameters
        ----------
        x : array-like
            One sample (a row, or an image of the training shape).
        dim : int
            The latent dimension to vary, from 0 to ``n_components - 1``.
        values : array-like of float, default=None
            Values given to that dimension. Default: 7 values from -3 to 3,
            i.e. +-3 standard deviations of the prior; for the autoencoder,
            +-3 standard deviations of that dimension in ``latent_density_``
            around its mean.

        Returns
        -------
        X_traversal : ndarray of shape (len(values), n_features)
            Rows in data space.
        """
        check_is_fitted(self)
        if not isinstance(dim, Integral) or not 0 <= dim < self.n_components:
            raise ValueError(f"dim must be an integer in [0, {self.n_components - 1}], got {dim!r}.")
        (z,) = self._codes_of_samples(x=x)
        if values is None:
            center, spread = self._latent_center_and_spread(dim)
            values = center + spread * np.linspace(-3, 3, 7)
        try:
            values = np.asarray(values, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"values must be finite numbers, got {values!r}.") from None
        if not np.isfinite(values).all() or len(values) == 0:
            raise ValueError(f"values must be finite numbers, at least one, got {values!r}.")
        values = values.astype(z.dtype)
        Z = np.repeat(z[None], len(values), axis=0)
        Z[:, dim] = values
        return self.inverse_transform(Z)

    def _latent_center_and_spread(self, dim):
        """Mean and standard deviation of one dimension of the prior."""
        return self._prior().center_and_spread(dim)


def _latent_path(z_start, z_end, n_steps, method):
    """``n_steps`` codes from ``z_start`` to ``z_end``, linear or along the great circle."""
    t = np.linspace(0, 1, n_steps, dtype=z_start.dtype)[:, None]
    if method == "spherical":
        norms = np.linalg.norm(z_start) * np.linalg.norm(z_end)
        omega = np.arccos(np.clip(np.dot(z_start, z_end) / norms, -1, 1)) if norms > 0 else 0.0
        if np.sin(omega) > 1e-6:
            return (np.sin((1 - t) * omega) * z_start + np.sin(t * omega) * z_end) / np.sin(omega)
    return (1 - t) * z_start + t * z_end


def _check_n_samples(estimator, n_samples):
    """The checks of every ``sample`` method: a fitted estimator, a positive integer count."""
    check_is_fitted(estimator)
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
