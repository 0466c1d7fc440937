"""Saving a fitted estimator to a file, and rebuilding it from one (the file format is in ``_serialization``)."""

import inspect
import warnings

import torch
from skorch.history import History

from ._checks import _positive_ints
from ._training import _resolve_device


class _PersistenceMixin:
    """``save`` and what it stores, and the inverse for :func:`skvae.load` and unpickling."""

    def save(self, path, *, training_state=False):
        """Save the fitted estimator to one file, loadable with :func:`skvae.load`.

        The file is in the `safetensors <https://huggingface.co/docs/safetensors>`_
        format: the weights (and any other array) as tensors, the
        hyper-parameters, fitted attributes and training history as plain data,
        and the skvae and torch versions and a format version. Loading it
        builds only skvae's allow-list and runs no code from the file. Classes
        of your own (``architecture=(MyEncoder, MyDecoder)``, a custom
        callback) are stored by import path and imported on load only if the
        caller trusts them by name (see :func:`skvae.get_untrusted_types`). The
        file is replaced atomically.

        Parameters
        ----------
        path : str or path-like
            Where to write; an existing file is replaced.
        training_state : bool, default=False
            Also store the optimizer's state (Adam: two more tensors per
            weight) and the random state, so that ``warm_start=True`` trains on
            exactly as if training had never stopped. Without it the file holds
            each weight once, and a warm start begins with a fresh optimizer.

        Returns
        -------
        path : pathlib.Path
            The file written.
        """
        from ._serialization import save

        return save(self, path, training_state=training_state)

    # Parameters whose default changed after they were added, with the value that a model saved
    # before they existed behaved as: a file or pickle without them gets this, not today's default
    # (neighbor_weight and placement came in at 0.0 and "encoder", and are "auto" since).
    _DEFAULTS_BEFORE = {"neighbor_weight": 0.0, "placement": "encoder"}

    @classmethod
    def _parameters_missing_from(cls, params):
        """The parameters of ``cls`` that ``params`` (a saved model's) lacks, with the value each had then."""
        return {
            name: cls._DEFAULTS_BEFORE.get(name, parameter.default)
            for name, parameter in inspect.signature(cls.__init__).parameters.items()
            if parameter.default is not inspect.Parameter.empty and name not in params
        }

    def _saved_params(self):
        """Parameters as :meth:`save` stores them: callbacks it cannot store are left out, with a warning."""
        from ._serialization import can_save

        params = self.get_params(deep=False)
        if params["callbacks"]:
            kept = [cb for cb in params["callbacks"] if can_save(cb)]
            if len(kept) < len(params["callbacks"]):
                warnings.warn(
                    "Some callbacks are not saved: a file stores them by import path, and these "
                    "have none (defined in __main__ or in a function), or hold objects a file "
                    f"cannot: {[cb for cb in params['callbacks'] if cb not in kept]!r}. After "
                    "loading, pass them again with set_params(callbacks=...).",
                    UserWarning,
                    stacklevel=4,
                )
            params["callbacks"] = kept
        return params

    def _saved_state(self, training_state):
        """What :meth:`save` stores: fitted attributes, and the net as weights and plain data."""
        state = {k: v for k, v in vars(self).items() if k.endswith("_") and k not in ("net_", "history_")}
        if not hasattr(self, "net_"):
            return state
        net = self.net_
        state["net_"] = {
            "module": getattr(net.module_, "_orig_mod", net.module_).state_dict(),
            "history": list(net.history),
            "split_seed": net.split_seed,
        }
        if training_state:
            state["net_"]["optimizer"] = net.optimizer_.state_dict()
            state["net_"]["rng"] = net.rng_state_
        return state

    def _restore_state(self, state, device):
        """Inverse of :meth:`_saved_state`, on ``device`` (None: as fitted, or the CPU if that is gone)."""
        net_state = state.pop("net_", None)
        vars(self).update(state)
        if net_state is None:
            return
        device = self._loading_device(device)
        hidden = _positive_ints("hidden_layer_sizes", self.hidden_layer_sizes)
        with torch.random.fork_rng(devices=[]):  # building draws initial weights; loading overwrites them
            module = self._build_module(hidden, torch.zeros(self._module_input_shape()))
        module.load_state_dict(net_state["module"])
        net = self._make_net(
            module,
            self.reconstruction_loss_,
            net_state["split_seed"],
            device,
            net_state.get("optimizer"),
            History(net_state["history"]),
        )
        net.rng_state_ = net_state.get("rng")
        net.module_.eval()
        self.net_, self.history_ = net, net.history

    def _loading_device(self, device, stacklevel=2):
        if device is not None:
            return _resolve_device(device)
        try:
            return _resolve_device(self.device)
        except ValueError:
            warnings.warn(
                f"{type(self).__name__} was fitted with device={self.device!r}, which this machine "
                "does not have: it runs on the CPU, and its device parameter is set to 'cpu'. "
                "(skvae.load(path, device=...) chooses the device of a saved model.)",
                UserWarning,
                stacklevel=stacklevel + 1,
            )
            self.device = "cpu"
            return "cpu"

    def __setstate__(self, state):
        # A model fitted on a GPU and unpickled where there is none (a Dask client, a
        # laptop): skorch has mapped the net to the CPU; the parameter follows it.
        super().__setstate__(state)
        # A pickle from an earlier skvae has no value for a parameter added since: it gets
        # what the model did before the parameter existed.
        for name, value in self._parameters_missing_from(self.__dict__).items():
            setattr(self, name, value)
        net = self.__dict__.get("net_")
        if net is not None and torch.device(net.device).type == "cpu" and self.device not in ("cpu", "auto"):
            self._loading_device(None, stacklevel=3)


def network_state(network, arguments):
    """A fitted torch network as plain data for a file: the named constructor arguments and the weights."""
    return {**{name: getattr(network, name) for name in arguments}, "weights": dict(network.state_dict())}


def network_from_state(cls, saved, device=None):
    """Inverse of :func:`network_state`: ``cls`` built from the saved arguments, with the saved weights, in eval mode.

    Building draws initial weights that the saved ones overwrite: torch's
    global random state is left as it was, as for the estimator's own network.
    """
    saved = dict(saved)
    weights = saved.pop("weights")
    with torch.random.fork_rng(devices=[]):
        network = cls(**saved)
    network.load_state_dict(weights)
    return network.to(device or "cpu").eval()
