"""The shared parameters: declared once, in every estimator's signature, constraints and docs alike."""

import inspect
import re

import pytest

from skvae import (
    AutoencoderTransformer,
    BetaVAETransformer,
    ConditionalVAETransformer,
    GaussianMixtureVAE,
    VAETransformer,
    VQVAETransformer,
)
from skvae._params import SHARED, SHARED_CONSTRAINTS

ESTIMATORS = [AutoencoderTransformer, VAETransformer, BetaVAETransformer, ConditionalVAETransformer,
              GaussianMixtureVAE, VQVAETransformer]
SHARED_NAMES = [p.name for p in SHARED]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_each_signature_is_the_shared_parameters_plus_its_own(cls):
    signature = inspect.signature(cls).parameters
    names = list(signature)
    assert [n for n in names if n in SHARED_NAMES] == SHARED_NAMES  # all of them, in one order
    own = set(names) - set(SHARED_NAMES)
    assert own == set(cls._parameter_constraints) - set(SHARED_NAMES)  # and its own are constrained
    for name in SHARED_NAMES:
        assert cls._parameter_constraints[name] is SHARED_CONSTRAINTS[name], name
    for name in names:  # every parameter documented once, with the default the signature has
        headers = re.findall(rf"^    {name} : .*, default=(.*)$", cls.__doc__, flags=re.MULTILINE)
        assert len(headers) == 1, name
    for p in SHARED:
        (written,) = re.findall(rf"^    {p.name} : .*, default=(.*)$", cls.__doc__, flags=re.MULTILINE)
        default = signature[p.name].default
        assert written == (p.default_doc if default == p.default and p.default_doc else
                           (f'"{default}"' if isinstance(default, str) else repr(default))), p.name


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_init_stores_every_argument_unchanged(cls):
    values = {name: object() for name in inspect.signature(cls).parameters}
    estimator = cls(**values)
    assert all(getattr(estimator, name) is value for name, value in values.items())
    assert estimator.get_params(deep=False).keys() == values.keys()
