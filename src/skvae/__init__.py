"""skvae: autoencoders and variational autoencoders as scikit-learn transformers.

>>> from skvae import VAETransformer
"""

from ._estimators import AutoencoderTransformer, BetaVAETransformer, VAETransformer
from ._cvae import ConditionalVAETransformer
from ._gmvae import GaussianMixtureVAE
from ._outlier import AutoencoderOutlierDetector
from ._vqvae import VQVAETransformer
from .exceptions import DataRangeWarning, DivergenceError, ModelFileError, TrainingInterruptedWarning

__version__ = "0.1.0"


def load(path, *, trusted=False, device=None):
    """Load an estimator saved with ``est.save(path)``.

    Loading a file you did not make runs no code from it: nothing is
    unpickled, and the file may name only the classes and functions on
    skvae's exact allow-list (its estimators, networks and losses, and the
    torch layers and optimizers, skorch callbacks and scikit-learn mixture
    they use), all imported already. Each name you pass in ``trusted`` gives
    that up: its module is imported, which runs its code, so trust only
    names you have read, in files you trust.

    Any other name stops the load with a :class:`ModelFileError` before it
    is imported; :func:`get_untrusted_types` lists them without importing.

    Parameters
    ----------
    path : str or path-like
        A file written by :meth:`VAETransformer.save` (any skvae estimator,
        or :meth:`AutoencoderOutlierDetector.save`).
    trusted : bool or list of str, default=False
        Exact names of your own code that the file may name, as
        :func:`get_untrusted_types` gives them (e.g.
        ``["mypackage.nets.MyEncoder"]``). Each is imported, and built only
        if it is of the kind its place needs (a torch ``nn.Module`` for an
        architecture, a skorch ``Callback`` for a callback). ``True`` trusts
        every name: it runs whatever code the file names.
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
        another format version, names code that is not trusted, or holds
        anything that skvae's ``save`` does not write.

    See Also
    --------
    get_untrusted_types : The names a file needs trusted, read without importing them.

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


def get_untrusted_types(path):
    """List the names in a model file that :func:`load` would refuse unless trusted.

    The file is read as data: nothing it names is imported. Pass the names
    you have checked, and trust, to ``load(path, trusted=[...])``. skops
    gives its function of the same name the same role.

    Parameters
    ----------
    path : str or path-like
        A file written by an skvae estimator's ``save``.

    Returns
    -------
    names : list of str
        The dotted names (``"mypackage.nets.MyEncoder"``) of the classes and
        functions the file names outside skvae's allow-list, sorted; empty for
        a model made only of skvae's own parts.

    Raises
    ------
    ModelFileError
        If the file is not an skvae model, or is truncated or corrupt.

    Examples
    --------
    >>> import tempfile, skvae
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data / 16
    >>> path = skvae.VAETransformer(max_epochs=1).fit(X).save(tempfile.mkdtemp() + "/vae.skvae")
    >>> skvae.get_untrusted_types(path)
    []
    """
    from ._serialization import get_untrusted_types as _get_untrusted_types

    return _get_untrusted_types(path)


__all__ = [
    "AutoencoderTransformer",
    "VAETransformer",
    "BetaVAETransformer",
    "ConditionalVAETransformer",
    "GaussianMixtureVAE",
    "VQVAETransformer",
    "AutoencoderOutlierDetector",
    "DataRangeWarning",
    "DivergenceError",
    "ModelFileError",
    "TrainingInterruptedWarning",
    "load",
    "get_untrusted_types",
]
