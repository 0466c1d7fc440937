"""skvae: autoencoders and variational autoencoders as scikit-learn transformers.

>>> from skvae import VAETransformer
"""

from ._estimators import AutoencoderTransformer, BetaVAETransformer, VAETransformer
from ._cvae import ConditionalVAETransformer
from ._gmvae import GaussianMixtureVAE
from ._outlier import AutoencoderOutlierDetector
from ._vqvae import VQVAETransformer
from .exceptions import DivergenceError, ModelFileError, TrainingInterruptedWarning

__version__ = "0.1.0"


def load(path, *, trusted=False, device=None):
    """Load an estimator saved with ``est.save(path)``.

    Nothing in the file is unpickled or run: weights are read as tensors and
    everything else as plain data. Classes are imported by name only from
    skvae, scikit-learn, skorch and torch, unless you trust the file.

    Parameters
    ----------
    path : str or path-like
        A file written by :meth:`VAETransformer.save` (any skvae estimator,
        or :meth:`AutoencoderOutlierDetector.save`).
    trusted : bool or list of str, default=False
        Import paths of your own code that the file may name (e.g.
        ``["mypackage.nets.MyEncoder"]``), or True for any. Loading such a
        class runs its module's code: trust only files you made.
    device : str, default=None
        Torch device for the model. None: the one it was fitted on, or the
        CPU (with a warning) when this machine does not have that one, so a
        model fitted on a GPU loads on a CPU-only machine.

    Returns
    -------
    estimator : fitted estimator
        It gives bit-identical ``transform``, ``inverse_transform``,
        ``score_samples`` and ``sample(random_state=k)`` on the same machine.
        If saved with ``training_state=True``, ``warm_start=True`` trains on
        exactly where it stopped.

    Raises
    ------
    ModelFileError
        If the file is not an skvae model, is truncated or corrupt, is of
        another format version, or names code that is not trusted.

    Examples
    --------
    >>> import tempfile, numpy as np, skvae
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data / 16
    >>> vae = skvae.VAETransformer(max_epochs=2, random_state=0).fit(X)
    >>> path = vae.save(tempfile.mkdtemp() + "/vae.skvae")
    >>> np.array_equal(skvae.load(path).transform(X), vae.transform(X))
    True
    """
    from ._serialization import load as _load

    return _load(path, trusted=trusted, device=device)


__all__ = [
    "AutoencoderTransformer",
    "VAETransformer",
    "BetaVAETransformer",
    "ConditionalVAETransformer",
    "GaussianMixtureVAE",
    "VQVAETransformer",
    "AutoencoderOutlierDetector",
    "DivergenceError",
    "ModelFileError",
    "TrainingInterruptedWarning",
    "load",
]
