"""Write the golden model files and their outputs: files as skvae writes them, kept to check that later skvae loads them.

Each model is kept twice: as ``save`` writes it (``NAME.skvae``) and as joblib
pickles it (``NAME.joblib``, whose class paths a refactor must keep).

Run from the repository root with the skvae to freeze: ``python tests/golden/make_golden.py``
(``--rescore`` records only ``score_samples`` again, from the saved files;
``--record-refits NAME...`` records today's fit of models whose training changed on purpose;
``--add NAME...`` writes the files of models added since, and leaves the others as they are;
``--reload NAME...`` records again what the named models' saved files give, where that changed on purpose;
run it with OMP_NUM_THREADS=1, as make test runs, since a conv net's bits depend on the thread count).
Each model is small (2 epochs on 200 digits) and saved with its training state,
so the files also hold optimizer and random states. ``outputs.npz`` holds what
each model gave when it was saved, and the machine it was computed on.
"""

import sys
from functools import partial
from pathlib import Path

import joblib
import numpy as np
import torch
from skorch.callbacks import EarlyStopping, GradientNormClipping, LRScheduler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # golden_parts, as pytest imports it

import skvae  # noqa: E402
from golden_parts import CountEpochs, Decoder, Encoder  # noqa: E402
from skvae import (  # noqa: E402
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    BetaVAETransformer,
    ConditionalVAETransformer,
    GaussianMixtureVAE,
    VAETransformer,
    VQVAETransformer,
)

MLP = dict(hidden_layer_sizes=(16,), max_epochs=2, random_state=0)
CONV = dict(MLP, architecture="conv", conv_channels=(4,), image_shape=(8, 8))
# the models as they were written, before 2-D and 3-D codes trained with the neighbourhood term
# and placed new rows by default (issue 27)
PLAIN = dict(neighbor_weight=0.0, placement="encoder")
CLASSES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])


def models():
    """name -> (unfitted model, whether fit takes labels)."""
    made = {}
    for kind, extra in (("mlp", MLP), ("conv", CONV)):
        made[f"vae-{kind}"] = VAETransformer(n_components=3, **PLAIN, **extra)
        made[f"ae-{kind}"] = AutoencoderTransformer(n_components=3, **PLAIN, **extra)
        made[f"beta-vae-{kind}"] = BetaVAETransformer(n_components=2, beta=4.0, optimizer="adamw", **PLAIN, **extra)
        made[f"cvae-{kind}"] = ConditionalVAETransformer(n_components=2, **PLAIN, **extra)
        made[f"gmvae-{kind}"] = GaussianMixtureVAE(n_clusters=3, n_components=2, pretrain_epochs=1, **extra)
        made[f"vqvae-{kind}"] = VQVAETransformer(n_components=4, n_embeddings=8, **extra)
    # a model that keeps its training rows and codes, for placement (issue 27)
    made["vae-placed"] = VAETransformer(n_components=2, neighbor_weight=1.0, placement="neighbors", **MLP)
    made["detector"] = AutoencoderOutlierDetector(VAETransformer(n_components=3, **PLAIN, **MLP), random_state=0)
    made["custom-architecture"] = VAETransformer(
        n_components=2, architecture=(partial(Encoder, width=8), Decoder), **PLAIN, **MLP
    )
    made["callbacks"] = VAETransformer(
        n_components=2,
        **PLAIN,
        optimizer=partial(torch.optim.SGD, momentum=0.9),
        callbacks=[
            EarlyStopping(patience=5),
            LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5),
            GradientNormClipping(1.0),
            CountEpochs(start=1),
        ],
        **MLP,
    )
    return made


def data():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:200] / 16, CLASSES[y[:200]]


def outputs(name, model, X, y):
    """What a loaded model must give on rows ``X`` (labels ``y``), by name."""
    if name == "detector":
        return {"score_samples": model.score_samples(X), "predict": model.predict(X)}
    codes = model.transform(X)
    out = {"transform": codes}
    if name.startswith("cvae"):
        out["inverse_transform"] = model.inverse_transform(codes, y)
        out["score_samples"] = model.score_samples(X, y)
        out["sample"] = model.sample(5, y="three", random_state=3)
    else:
        out["inverse_transform"] = model.inverse_transform(codes)
        out["score_samples"] = model.score_samples(X)
        out["sample"] = model.sample(5, random_state=3)
    if name.startswith("gmvae"):
        out["predict"] = model.predict(X)
    return out


def machine():
    return f"{torch.__version__} {torch.backends.cpu.get_cpu_capability()}"


def rescore():
    """Record ``score_samples`` again from the saved files, the rest as it was: scoring changed on purpose.

    Issue 26 made the ELBO's posterior draws each row's own. The files and
    every other output stay as first written; ``machine/score_samples``
    names the machine the scores were recorded on.
    """
    X, y = data()
    with np.load(HERE / "outputs.npz") as saved:
        arrays = dict(saved)
    for name in models():
        model = skvae.load(HERE / f"{name}.skvae", trusted=True)
        if name == "detector":
            # its default score does not use the ELBO: its outputs stay those of the machine it was saved on
            arrays.setdefault(f"machine/{name}", arrays["machine"])
            continue
        for key, value in outputs(name, model, X[:40], y[:40]).items():
            if key == "score_samples":
                arrays[f"{name}/{key}"] = value
    arrays["machine/score_samples"] = np.array(machine())
    np.savez_compressed(HERE / "outputs.npz", **arrays)
    print(f"re-recorded score_samples on {machine()}")


def record_refits(names):
    """Record what training the named models today gives, beside what their files give.

    For models whose training changed on purpose (the conditional VAE's
    encoder sees the label since issue 28; GaussianMixtureVAE's neighbour
    graph is computed with numpy since issue 27, its weights within a float32
    rounding of umap-learn's, which moves the map it trains from): the files and their outputs stay
    as first written, and ``refit:<name>/<output>`` hold today's fit, with
    ``machine/refit:<name>`` the machine it was recorded on.
    """
    fit_and_record(names, prefix="refit:", write_files=False)
    print(f"recorded today's fit of {names} on {machine()}")


def reload(names):
    """Record again what the named models' saved files give; the files and the other outputs stay.

    For models whose inference changed on purpose: placement's compiled loop
    (issue 27) takes the powers of distances in float32, which moves
    ``vae-placed``'s placed codes by about 1e-6. ``machine/<name>`` names the
    machine they were recorded on.
    """
    X, y = data()
    with np.load(HERE / "outputs.npz") as saved:
        arrays = dict(saved)
    for name in names:
        model = skvae.load(HERE / f"{name}.skvae", trusted=True)
        for key, value in outputs(name, model, X[:40], y[:40]).items():
            arrays[f"{name}/{key}"] = value
        arrays[f"machine/{name}"] = np.array(machine())
    np.savez_compressed(HERE / "outputs.npz", **arrays)
    print(f"recorded {names} again from their files on {machine()}")


def add(names):
    """Write the files and outputs of models added to :func:`models` since the others were written.

    The other files and outputs stay as they are; ``machine/<name>`` names
    the machine each added model was written on.
    """
    fit_and_record(names, prefix="", write_files=True)
    print(f"added {names} on {machine()}")


def fit_and_record(names, prefix, write_files):
    """Fit the named models today and record their outputs as ``<prefix><name>/<output>`` in ``outputs.npz``.

    With ``machine/<prefix><name>``, the machine they were recorded on; the
    other entries stay as they are. ``write_files``: also write the models'
    ``.skvae`` and ``.joblib`` files.
    """
    X, y = data()
    with np.load(HERE / "outputs.npz") as saved:
        arrays = dict(saved)
    for name in names:
        model = models()[name]
        model.fit(X, y) if name.startswith("cvae") else model.fit(X)
        if write_files:
            model.save(HERE / f"{name}.skvae", training_state=True)
            joblib.dump(model, HERE / f"{name}.joblib")
        for key, value in outputs(name, model, X[:40], y[:40]).items():
            arrays[f"{prefix}{name}/{key}"] = value
        arrays[f"machine/{prefix}{name}"] = np.array(machine())
    np.savez_compressed(HERE / "outputs.npz", **arrays)


def main():
    if sys.argv[1:2] == ["--add"]:
        return add(sys.argv[2:])
    if sys.argv[1:2] == ["--reload"]:
        return reload(sys.argv[2:])
    if sys.argv[1:] == ["--rescore"]:
        return rescore()
    if sys.argv[1:2] == ["--record-refits"]:
        return record_refits(sys.argv[2:])
    X, y = data()
    arrays = {}
    for name, model in models().items():
        model.fit(X, y) if name.startswith("cvae") else model.fit(X)
        model.save(HERE / f"{name}.skvae", training_state=True)
        joblib.dump(model, HERE / f"{name}.joblib")
        for key, value in outputs(name, model, X[:40], y[:40]).items():
            arrays[f"{name}/{key}"] = value
    np.savez_compressed(HERE / "outputs.npz", machine=np.array(machine()), skvae_version=np.array(skvae.__version__), **arrays)
    print(f"wrote {len(models())} models on {machine()}")


if __name__ == "__main__":
    main()
