"""Plain PyTorch networks behind the skvae estimators.

Every class here is an ordinary ``torch.nn.Module``: it trains, saves and loads
without skvae. ``N`` is the batch size in the shapes below.

The code lives in three files (the encoders and decoders, the autoencoders, the
VQ-VAE); everything public is imported from here, and model files name it here
(``skvae.modules:<name>``).
"""

from ._autoencoders import (  # noqa: F401  (LOGVAR_*, reparameterize: for skvae's own code)
    LOGVAR_MAX,
    LOGVAR_MIN,
    Autoencoder,
    AutoencoderOutput,
    ConditionalVariationalAutoencoder,
    GaussianMixtureVariationalAutoencoder,
    VariationalAutoencoder,
    gaussian_kl,
    gaussian_kl_per_dimension,
    gaussian_log_density,
    reparameterize,
)
from ._parts import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, auto_conv_channels
from ._vq import TokenPrior, VectorQuantizedAutoencoder

__all__ = [
    "AutoencoderOutput",
    "MLPEncoder",
    "MLPDecoder",
    "ConvEncoder",
    "ConvDecoder",
    "Autoencoder",
    "VariationalAutoencoder",
    "GaussianMixtureVariationalAutoencoder",
    "ConditionalVariationalAutoencoder",
    "VectorQuantizedAutoencoder",
    "TokenPrior",
    "gaussian_kl",
    "gaussian_kl_per_dimension",
    "gaussian_log_density",
    "auto_conv_channels",
]

