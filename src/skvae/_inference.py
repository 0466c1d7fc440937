"""Batched inference: transform and inverse_transform, one fixed-size batch at a time."""

import weakref
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils._set_output import _wrap_data_with_container
from sklearn.utils.validation import check_is_fitted

from ._checks import FLOAT32_MAX, _check_float32_range, _check_rows, _name_rows, _output_dtype, _rows_beyond_float32
from ._data import iter_batches
from ._losses import decoder_mean
from ._placement import MAX_NEGATIVES, MAX_PLACEMENT_EPOCHS, place_rows
from ._placement_network import MAP_BATCH, check_network, network_step


# A call with at most this many rows runs as one batch of the smallest of these sizes
# that holds it instead of a full batch, where that size gives each row the same
# bits (see _small_batches_agree). MKL and oneDNN agree at 4, 8 and 16 rows, not 1-3.
SMALL_BATCHES = (4, 8)
SMALL_BATCH = SMALL_BATCHES[-1]
# module -> {(step name, device, threads): whether small and full batches agree}; weak,
# so that the answers go with the module, and never into a pickle or a file.
_small_batch_answers = weakref.WeakKeyDictionary()
# module -> its parts (itself included), listed once: module.modules() builds every
# part's dotted name on each call, 15% of a one-row transform
_module_parts = weakref.WeakKeyDictionary()


class _InferenceMixin:
    """Encoding and decoding in batches of a fixed size, bit-identical whatever rows come together."""

    def _run_batches(self, X, step, *, codes=False, batch_size=None, name=None):
        """Apply ``step(module, batch) -> tuple of tensors`` over row batches of X.

        Batches of data are scaled and shaped as in training; batches of codes
        (``codes=True``) go in as they are. Runs in eval mode without autograd
        and writes each batch's results into arrays allocated once, so memory
        is one batch plus the outputs. Every batch has the same number of rows
        (the last is padded), which makes each row's result bit-identical
        whatever rows it comes with.

        A call of at most ``SMALL_BATCH`` rows (one row, a few) pads to that
        many instead, if ``name`` names the step (everything its result
        depends on besides the batch) and :meth:`_small_batches_agree` finds
        that the module gives rows the same bits in both batch sizes: one row
        then costs about what the module takes for it, not a full batch.
        """
        module = self.net_.module_
        parts = _module_parts.get(module)
        if parts is None:
            parts = _module_parts[module] = tuple(module.modules())
        if any(part.training for part in parts):  # eval() itself walks and sets every part
            module.eval()
        shape = (self.n_components,) if codes else self._module_input_shape()
        if batch_size is None:
            batch_size = self._inference_batch_size(X)
        if name is not None and X.shape[0] <= SMALL_BATCH < batch_size:
            small = next(size for size in SMALL_BATCHES if X.shape[0] <= size)
            if self._small_batches_agree(module, step, name, shape, batch_size, codes, small):
                batch_size = small
        outputs = None
        with torch.inference_mode():
            for rows, batch in iter_batches(X, batch_size, self.net_.device):
                if not codes and self.input_scale_ != 1:
                    batch = batch / self.input_scale_
                n_rows = rows.stop - rows.start
                results = [r[:n_rows].cpu().numpy() for r in step(module, batch.reshape(len(batch), *shape))]
                if outputs is None:
                    outputs = [np.empty((X.shape[0], *r.shape[1:]), r.dtype) for r in results]
                for out, result in zip(outputs, results):
                    finite = np.isfinite(result.reshape(n_rows, -1)).all(axis=1)
                    if not finite.all():
                        raise _overflow_error(X, rows.start + np.flatnonzero(~finite))
                    out[rows] = result
        return outputs

    def _inference_batch_size(self, X):
        """Rows per batch for inference on X (one decoder or encoder call each)."""
        # Without gradients an MLP's batch is small: 1024 rows ran ~20% faster than
        # 128 (measured on 2 CPU cores). A conv net's feature maps stop fitting in
        # cache beyond ~128 rows, so it keeps the training batch size.
        # Sparse rows are made dense one batch at a time: the training batch size bounds that memory.
        larger = self.architecture == "mlp" and not sp.issparse(X)
        return max(self.batch_size, 1024) if larger else self.batch_size

    def _small_batches_agree(self, module, step, name, shape, batch_size, codes, small):
        """Whether ``step`` gives the first rows of a full batch the same bits in a batch of ``small`` rows.

        Matrix and convolution kernels may choose another algorithm, and
        round differently, for fewer rows: asked once per module, step,
        device and thread count, on a fixed random batch, the answer is kept
        with the module. Where it is no, every call pads to the full batch.
        """
        device = self.net_.device
        key = (name, str(device), torch.get_num_threads(), small)
        answers = _small_batch_answers.setdefault(module, {})
        if key not in answers:
            generator = torch.Generator().manual_seed(0)
            probe = (torch.randn if codes else torch.rand)(batch_size, *shape, generator=generator).to(device)
            # rows from several places of the full batch, aligned and not: a kernel may round
            # a row by where it sits in its block (a 64-draw score agreed for the first 4 rows
            # of a batch and not for rows further in)
            starts = sorted({0, 1, 3, small, small + 1, batch_size // 2 + 1, batch_size - small})
            with torch.inference_mode():
                full = step(module, probe)
                answers[key] = all(
                    torch.equal(f[start:start + small], s)
                    for start in starts
                    for f, s in zip(full, step(module, probe[start:start + small].clone()))
                )
        return answers[key]

    def _encode(self, X, *, return_std=False):
        """Posterior means of X, and the standard deviations if asked for."""

        def step(module, batch):
            mean, logvar = module.encode(batch)
            if not return_std:
                return (mean,)
            return mean, torch.exp(0.5 * logvar) if module.stochastic else torch.zeros_like(mean)

        return self._run_batches(X, step, name=f"encode, std={return_std}")

    def _places_rows(self):
        """Whether :meth:`transform` places rows among the training rows (else it encodes them)."""
        if self.placement == "auto":  # where the fit kept them
            return hasattr(self, "placement_rows_")
        return self.placement in ("neighbors", "network")

    def _maps_rows(self):
        """Whether :meth:`transform` maps rows with placement="network"'s network."""
        if self.placement == "auto":  # where the fit made one
            return hasattr(self, "placement_network_")
        return self.placement == "network"

    def _codes(self, X):
        """The codes :meth:`transform` gives validated X: posterior means, placed among the training rows, or mapped."""
        if self._maps_rows():
            return self._mapped_codes(X)
        if not self._places_rows():
            return self._encode(X)[0]
        if not hasattr(self, "placement_rows_"):
            raise ValueError(
                "placement='neighbors' places rows among the training rows kept at fit, and this "
                f"{type(self).__name__} kept none: it was fitted with placement='encoder'. Fit it again "
                "with placement='neighbors' (and neighbor_weight > 0), or set placement='encoder'."
            )
        rows, codes = self.placement_rows_, self.placement_codes_
        projection = getattr(self, "placement_projection_", None)
        width = self.n_features_in_ if projection is None else rows.shape[1]
        if (
            rows.shape != (codes.shape[0], width)
            or codes.shape[1:] != (self.n_components,)
            or (projection is not None and projection.shape != (self.n_features_in_, width))
        ):
            raise ValueError(
                f"The model's placement_rows_ {rows.shape}, placement_codes_ {codes.shape} and "
                f"placement_projection_ {getattr(projection, 'shape', None)} disagree with each other or "
                f"with its {self.n_features_in_} features and {self.n_components} components: the model "
                "file was altered. Fit the model again."
            )
        # as placed when fitted: models saved before these were kept took UMAP's 100 epochs and 5
        epochs, negatives = getattr(self, "placement_epochs_", 100), getattr(self, "placement_negatives_", 5)
        if not (
            isinstance(epochs, Integral) and not isinstance(epochs, bool) and 1 <= epochs <= MAX_PLACEMENT_EPOCHS
            and isinstance(negatives, Real) and not isinstance(negatives, bool) and 0 < negatives <= MAX_NEGATIVES
        ):  # an epoch's table of negative draws is allocated up front: 10**12 epochs would take the memory
            raise ValueError(
                f"The model's placement_epochs_ {epochs!r} and placement_negatives_ {negatives!r} should be an "
                f"integer from 1 to {MAX_PLACEMENT_EPOCHS} and a number above 0 and at most {MAX_NEGATIVES}: "
                "the model file was altered. Fit the model again."
            )
        bad = _rows_beyond_float32(X)
        if len(bad):  # named as the encoder's output check names them
            raise _overflow_error(X, bad)
        placed = place_rows(self._rows_to_place(self._flat_rows(X)), rows, codes, seed=self.net_.split_seed,
                            n_epochs=int(epochs), negative_sample_rate=float(negatives))
        finite = np.isfinite(placed).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise ValueError(
                f"The distances of {_name_rows(bad)} of X to the training rows overflowed float32, whose "
                f"values reach {abs(X[bad]).max():.3g}. Scale X as the training data was scaled."
            )
        return placed.astype(self.placement_codes_.dtype, copy=False)

    def _mapped_codes(self, X):
        """The codes placement="network"'s network gives validated X."""
        if not hasattr(self, "placement_network_"):
            raise ValueError(
                "placement='network' maps rows with a network fitted to the training codes at the end of fit, "
                f"and this {type(self).__name__} has none: it was fitted with another placement, or its fit was "
                "interrupted. Fit it again with placement='network', or set placement='neighbors' or 'encoder'."
            )
        projection = getattr(self, "placement_projection_", None)
        if projection is not None and (projection.ndim != 2 or projection.shape[0] != self.n_features_in_):
            raise ValueError(
                f"The model's placement_projection_ {projection.shape} does not project its "
                f"{self.n_features_in_} features: the model file was altered. Fit the model again."
            )
        check_network(self.placement_network_, self.n_features_in_ if projection is None else projection.shape[1],
                      self.n_components)
        bad = _rows_beyond_float32(X)
        if len(bad):
            raise _overflow_error(X, bad)
        step = network_step(self.placement_network_, self.n_components, projection, self.net_.device)
        # the layers' shapes name the step: they, not their values, choose the products' kernels
        name = "placement network " + " ".join(str(layer.shape) for layer in self.placement_network_)
        (codes,) = self._run_batches(X, step, batch_size=MAP_BATCH, name=name)
        return codes

    def _rows_to_place(self, rows):
        """Flat rows as placement keeps and searches them: on ``placement_projection_`` where there is one."""
        projection = getattr(self, "placement_projection_", None)
        return rows if projection is None else np.asarray(rows @ projection, dtype=np.float32)

    def _flat_rows(self, X):
        """X (validated) as flat float32 rows on the scale the network reads (sparse stays sparse)."""
        if sp.issparse(X):
            return sp.csr_matrix(X, dtype=np.float32) / np.float32(self.input_scale_)
        rows = np.asarray(X).reshape(X.shape[0], -1).astype(np.float32)
        return rows / np.float32(self.input_scale_) if self.input_scale_ != 1 else rows

    def transform(self, X, *, return_std=False):
        """Encode X to its latent codes (posterior means).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            Data to encode, shaped like the training data.
        return_std : bool, default=False
            Also return the posterior standard deviations (zeros for the
            deterministic autoencoder). A sampled code is then
            ``mean + std * rng.standard_normal(mean.shape)``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior means, or the codes placed among the training rows
            where the model places rows (``placement``); deterministic.
        Z_std : ndarray of shape (n_samples, n_components)
            Posterior standard deviations, only if ``return_std`` is True.
            Under ``set_output(transform="pandas")`` (or ``"polars"``) both
            are data frames, with the same columns and index.
        """
        check_is_fitted(self)
        if return_std and self._places_rows():
            raise ValueError(
                "return_std=True gives the encoder's posterior spread, and this model places rows among "
                "its training rows (placement='neighbors' or 'network', or 'auto' for a model fitted with the "
                "neighbourhood term), where codes have none. Set placement='encoder' to get the encoder's "
                "means and spread."
            )
        rows = self._validate_input(X, reset=False)
        dtype = _output_dtype(rows)
        if not return_std:
            return self._codes(rows).astype(dtype, copy=False)
        codes = [c.astype(dtype, copy=False) for c in self._encode(rows, return_std=True)]
        # scikit-learn's set_output wraps only the first of the outputs: the second is wrapped here
        return codes[0], _wrap_data_with_container("transform", codes[1], X, self)

    def inverse_transform(self, X):
        """Decode latent codes back to data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. from :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The decoder's mean, as rows on the training data's scale:
            probabilities for ``reconstruction_loss_ == "bce"`` (times 255 for
            uint8 training data). :meth:`as_images` shapes them into images.
        """
        Z = self._check_codes(X)
        return self._decode_rows(Z).astype(Z.dtype, copy=False)

    def _check_codes(self, X):
        """Latent codes given to :meth:`inverse_transform`, checked: a float array of ``n_components`` columns."""
        check_is_fitted(self)
        Z = _check_rows(X, f"{type(self).__name__}.inverse_transform takes latent codes, as transform returns them")
        _check_float32_range(Z, advice="Pass codes such as transform returns.")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform expects codes with n_components={self.n_components} "
                "columns, as returned by transform."
            )
        return Z

    def _decode_rows(self, Z, **condition):
        """Decoder means of validated codes, as rows on the training data's scale.

        ``condition`` is passed to the module's ``decode`` (a conditional
        model's class).
        """
        kind, scale = self.reconstruction_loss_, self.input_scale_

        def step(module, z):
            return (decoder_mean(module.decode(z, **condition), kind).flatten(1) * scale,)

        # a condition (a class) changes the step: those calls keep full batches
        (X_rec,) = self._run_batches(Z, step, codes=True, name=None if condition else "decode")
        return X_rec

    def _codes_of_samples(self, **samples):
        """Posterior means of single samples given by name (names go in error messages)."""
        rows = []
        for name, x in samples.items():
            x = np.asarray(x)
            if x.size != self.n_features_in_:
                raise ValueError(
                    f"{name} must be one sample of {self.n_features_in_} values, got {x.size}."
                )
            rows.append(x.reshape(1, -1))
        X = np.concatenate(rows)
        if hasattr(self, "feature_names_in_"):
            import pandas as pd

            X = pd.DataFrame(X, columns=self.feature_names_in_)
        return self._codes(self._validate_input(X, reset=False))


def _overflow_error(X, bad):
    """The error for rows ``bad`` of X whose codes came out infinite: values beyond float32, or an overflow."""
    largest = abs(X[bad]).max()
    why = (f"X has values beyond float32's range (+-{FLOAT32_MAX:.3g})"
           if largest > FLOAT32_MAX else "the network's output overflowed float32")
    return ValueError(
        f"{why}, which the network computes in, for {_name_rows(bad)} of X, whose "
        f"values reach {largest:.3g}. Scale X as the training data was scaled."
    )
