"""skvae: autoencoders and variational autoencoders as scikit-learn transformers.

>>> from skvae import VAETransformer
"""

from ._estimators import AutoencoderTransformer, BetaVAETransformer, VAETransformer
from ._outlier import AutoencoderOutlierDetector
from .exceptions import DivergenceError

__version__ = "0.1.0"

__all__ = [
    "AutoencoderTransformer",
    "VAETransformer",
    "BetaVAETransformer",
    "AutoencoderOutlierDetector",
    "DivergenceError",
]
