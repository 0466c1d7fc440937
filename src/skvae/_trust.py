"""What a model file may name: an exact allow-list, the names a caller trusts, and the type each place needs.

A file names classes and functions by import path. :func:`skvae.load` looks a name
up in the allow-list below, which holds objects skvae has already imported: a
listed name is never imported, and a name off the list stops the load before its
module is imported, unless the caller trusts that exact name.
"""

import builtins
import importlib

import torch
from skorch import callbacks as skorch_callbacks
from skorch import utils as skorch_utils
from skorch.callbacks import Callback
from skorch.callbacks.lr_scheduler import WarmRestartLR
from sklearn.base import BaseEstimator
from sklearn.mixture import GaussianMixture
from torch import nn

from . import modules
from ._base import _BaseAutoencoder
from ._cvae import ConditionalVAETransformer
from ._estimators import AutoencoderTransformer, BetaVAETransformer, VAETransformer
from ._gmvae import AnchoredELBOLoss, GaussianMixtureVAE
from ._losses import CommitmentLoss, ELBOLoss, ReconstructionLoss
from ._net import EpochProgressBar, KLWarmup, StopOnDivergence
from ._outlier import AutoencoderOutlierDetector
from ._transformations import TransformationNet
from ._vqvae import VQVAETransformer
from .exceptions import ModelFileError

# Built from a file, as ``cls(**params)`` and then given their fitted attributes:
# classes whose constructors only store their arguments.
CONSTRUCTED = (
    VAETransformer,
    AutoencoderTransformer,
    BetaVAETransformer,
    ConditionalVAETransformer,
    GaussianMixtureVAE,
    VQVAETransformer,
    AutoencoderOutlierDetector,
    # the latent densities of the autoencoder and the detector
    GaussianMixture,
    # callbacks that keep settings and act on the net only while it trains; not the
    # ones that read or write files of their own (Checkpoint, LoadInitState) or call
    # a function they are given (Initializer, ParamMapper)
    skorch_callbacks.EarlyStopping,
    skorch_callbacks.LRScheduler,
    skorch_callbacks.GradientNormClipping,
    skorch_callbacks.ProgressBar,
    skorch_callbacks.PrintLog,
    skorch_callbacks.EpochTimer,
    skorch_callbacks.EpochScoring,
    skorch_callbacks.BatchScoring,
    skorch_callbacks.PassthroughScoring,
    StopOnDivergence,
    EpochProgressBar,
    KLWarmup,
)

# Named as a parameter's value and never called while loading, except as the
# place they stand in allows (a network part is built, an optimizer made).
REFERENCED = (
    # skvae's networks and losses (e.g. architecture=(partial(ConvEncoder, ...), ...))
    modules.MLPEncoder,
    modules.MLPDecoder,
    modules.ConvEncoder,
    modules.ConvDecoder,
    modules.Autoencoder,
    modules.VariationalAutoencoder,
    modules.GaussianMixtureVariationalAutoencoder,
    modules.ConditionalVariationalAutoencoder,
    modules.VectorQuantizedAutoencoder,
    TransformationNet,
    ReconstructionLoss,
    ELBOLoss,
    CommitmentLoss,
    AnchoredELBOLoss,
    # the layers and activations of skvae's networks, and common ones passed to a user's
    nn.Linear,
    nn.Conv2d,
    nn.ConvTranspose2d,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.LayerNorm,
    nn.Dropout,
    nn.Flatten,
    nn.Unflatten,
    nn.Sequential,
    nn.AdaptiveAvgPool2d,
    nn.Identity,
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.Softplus,
    # optimizers (optimizer=torch.optim.NAdam, or a partial of one)
    torch.optim.Adam,
    torch.optim.AdamW,
    torch.optim.SGD,
    torch.optim.RMSprop,
    torch.optim.Adagrad,
    torch.optim.Adadelta,
    torch.optim.Adamax,
    torch.optim.NAdam,
    torch.optim.RAdam,
    # learning-rate policies of skorch's LRScheduler
    torch.optim.lr_scheduler.StepLR,
    torch.optim.lr_scheduler.MultiStepLR,
    torch.optim.lr_scheduler.ExponentialLR,
    torch.optim.lr_scheduler.CosineAnnealingLR,
    torch.optim.lr_scheduler.CosineAnnealingWarmRestarts,
    torch.optim.lr_scheduler.ReduceLROnPlateau,
    torch.optim.lr_scheduler.CyclicLR,
    torch.optim.lr_scheduler.OneCycleLR,
    torch.optim.lr_scheduler.LinearLR,
    torch.optim.lr_scheduler.ConstantLR,
    torch.optim.lr_scheduler.PolynomialLR,
    WarmRestartLR,
    # the defaults of skorch callbacks' parameters: their sink and target extractor
    builtins.print,
    skorch_utils.noop,
    skorch_utils.to_numpy,
)

# What a file may hold at the top, and as the detector's estimator.
ESTIMATOR = (_BaseAutoencoder, AutoencoderOutlierDetector)

# The type a class named in a parameter must be a subclass of: it is called there.
PLACES = {
    "architecture": nn.Module,
    "optimizer": torch.optim.Optimizer,
    "callbacks": Callback,
    "estimator": _BaseAutoencoder,
}

# Built anywhere else: the objects a file stores as parameters and state.
ANY_OBJECT = (BaseEstimator, Callback)


# Public names of objects defined in private files: a file names them where users import
# them, so that the file format does not follow the code from file to file.
# (Keyed by id: a callable given to save need not be hashable.)
PUBLIC_MODULES = {id(getattr(modules, name)): modules.__name__ for name in modules.__all__}


def import_path(obj):
    """``"module:qualname"``, as a file names ``obj``."""
    return f"{PUBLIC_MODULES.get(id(obj), obj.__module__)}:{obj.__qualname__}"


def dotted(path):
    """A file's ``"module:qualname"`` as the dotted name users write: ``"module.qualname"``."""
    return path.replace(":", ".")


def _by_name(objects):
    return {import_path(obj): obj for obj in objects}


# A file's names for them: what ``__object__`` entries may build, and what any entry may name.
BUILT = _by_name(CONSTRUCTED)
ALLOWED = _by_name(CONSTRUCTED + REFERENCED)


class Trust:
    """Resolves the names in one file: from the allow-list, or by importing a name the caller trusts."""

    def __init__(self, trusted, source):
        if not isinstance(trusted, bool) and not (
            isinstance(trusted, (list, tuple, set, frozenset)) and all(isinstance(t, str) for t in trusted)
        ):
            raise TypeError(
                "trusted must be False, True, or a list of exact names such as "
                f"['mypackage.nets.MyEncoder'] (skvae.get_untrusted_types(path) lists them), got {trusted!r}."
            )
        self.everything = trusted is True
        self.names = set() if isinstance(trusted, bool) else {dotted(t) for t in trusted}
        self.source = source

    def resolve(self, path, need, place, build=False):
        """The object ``path`` names, which must be a subclass of ``need`` (if given) to stand at ``place``.

        ``build``: the file builds an instance of it, which only the classes of
        ``CONSTRUCTED`` (and trusted ones) may be.
        """
        obj = (BUILT if build else ALLOWED).get(path) if isinstance(path, str) else None
        if obj is None:
            obj = self._import_trusted(path)
        if need is not None and not (isinstance(obj, type) and issubclass(obj, need)):
            needs = need if isinstance(need, tuple) else (need,)
            kinds = " or ".join(dotted(import_path(n)) for n in needs)
            raise ModelFileError(
                f"{self.source} names {dotted(path)} as {place}, which needs a subclass of {kinds}; it was "
                "not called. The file was not written by skvae's save, or was altered."
            )
        return obj

    def _import_trusted(self, path):
        if not isinstance(path, str) or not (self.everything or dotted(path) in self.names):
            # One message for every name, listed or not, importable or not: a file learns
            # nothing about this machine from it, and nothing of it is imported.
            raise ModelFileError(
                f"{self.source} names {dotted(str(path))!r}, which is not on skvae's list of what a model "
                "file may hold; it was not imported. Importing it would run its code. If you made this "
                f"file or trust whoever did, load it with trusted=[{dotted(str(path))!r}] "
                "(skvae.get_untrusted_types(path) lists every such name)."
            )
        module, _, name = path.partition(":")
        try:
            obj = importlib.import_module(module)
            for part in name.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as error:
            raise ModelFileError(
                f"{self.source} names {dotted(path)}, which you trust, but it cannot be imported here "
                f"({error}). Install the package that defines it, or refit."
            ) from None
        return obj


def untrusted_names(tree):
    """The dotted names a file's tree gives that are not on the allow-list, sorted, without importing any."""
    found = set()
    stack = [tree]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                known = {"__import__": ALLOWED, "__object__": BUILT}.get(key)
                if known is not None and isinstance(item, str):
                    if item not in known:
                        found.add(dotted(item))
                else:
                    stack.append(item)
    return sorted(found)
