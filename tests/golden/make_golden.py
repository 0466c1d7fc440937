"""Write the golden model files and their outputs: files as skvae writes them, kept to check that later skvae loads them.

Each model is kept twice: as ``save`` writes it (``NAME.skvae``) and as joblib
pickles it (``NAME.joblib``, whose class paths a refactor must keep).

Run from the repository root with the skvae to freeze: ``python tests/golden/make_golden.py``
(``--rescore`` records only ``score_samples`` again, from the saved files;
``--add NAME...`` writes the files of models added since, and leaves the others as they are;
``--reload NAME...`` records again what the named models' saved files give, where that changed on purpose;
``--record-machine`` records the bits this machine gives, see below;
run it with OMP_NUM_THREADS=1, as make test runs, since a conv net's bits depend on the thread count).
Each model is small (2 epochs on 200 digits) and saved with its training state,
so the files also hold optimizer and random states. ``outputs.npz`` holds what
each model gave when it was saved, and the machine it was computed on: other
machines round differently, so the tests compare with it to a float32 tolerance.

Bits are promised per machine, in ``machines/<fingerprint>.npz``
(:func:`kernel_fingerprint`): what the golden files give there, what training
them today gives and what resuming a checkpoint gives, recorded with
``--record-machine`` by a skvae whose tests pass. On a machine with a record
the tests compare bit for bit; elsewhere they compare with ``outputs.npz`` to
the tolerance and skip training's exact check. A change to these bits on
purpose records each machine's file again (or deletes the ones it cannot).
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
from skvae._threads import torch_threads  # noqa: E402
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
    """name -> unfitted model (:func:`fit_golden` fits one)."""
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


def fit_golden(name, model):
    """``model`` (:func:`models`' ``name``) fitted on :func:`data`; a conditional VAE's fit takes the labels."""
    X, y = data()
    return model.fit(X, y) if name.startswith("cvae") else model.fit(X)


# the models whose training the tests repeat, bit for bit, on a machine with a record
TRAINED = ("vae-mlp", "ae-conv", "vqvae-mlp", "gmvae-mlp", "cvae-conv")
# torch threads the golden files were trained on (on 2 idle cores, n_jobs=None): a checkpoint resumes
# on as many. Given as n_jobs, not as torch's setting, which n_jobs=None narrows to the cores other
# processes leave free (one, under pytest-xdist)
GOLDEN_THREADS = 2


def load_golden(name):
    """The golden file ``name``, trusting the user's own classes it names (``golden_parts``)."""
    return skvae.load(HERE / f"{name}.skvae", trusted=True)


def resume_checkpoint():
    """``vae-mlp``'s file trained on for one more epoch, as a user resumes a checkpoint."""
    resumed = skvae.load(HERE / "vae-mlp.skvae")  # it names skvae's own classes alone: no trust needed
    return resumed.set_params(warm_start=True, max_epochs=1, n_jobs=GOLDEN_THREADS).fit(data()[0])


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
    """The machine outputs were recorded on, as ``outputs.npz`` names it: torch build and CPU kernel family.

    Too coarse to promise bits: two AVX-512 CPUs gave outputs 1e-7 apart
    (issue 27, twenty-third session). Exact comparisons use :func:`kernel_fingerprint`.
    """
    return f"{torch.__version__} {torch.backends.cpu.get_cpu_capability()}"


def kernel_fingerprint():
    """A hash of the bits torch's CPU kernels give on this machine, on one thread: what a bit-exact record is keyed by.

    The ops are the golden models' own, at their shapes and beyond: linear
    layers forward and backward (a matrix library picks its kernel by CPU and
    by shape), 2-D convolutions and their transposes, the element-wise
    functions of the losses, reductions and an Adam step. Two machines whose
    kernels round any of these differently get different fingerprints. Only
    torch is used, so a change to skvae never changes it. The torch build and
    kernel family (:func:`machine`) are hashed in too.
    """
    import hashlib

    import torch.nn.functional as F

    with torch_threads(1):
        g = torch.Generator().manual_seed(0)
        got = []
        for n, d_in, d_out in ((1, 64, 16), (40, 64, 16), (128, 64, 256), (200, 16, 3), (7, 3, 64), (512, 784, 256)):
            x = torch.randn(n, d_in, generator=g, requires_grad=True)
            w = torch.randn(d_out, d_in, generator=g, requires_grad=True)
            y = torch.tanh(F.softplus(F.linear(x, w, torch.randn(d_out, generator=g))))
            (y.sigmoid() * torch.randn(n, d_out, generator=g)).sum().backward()
            got += [y, x.grad, w.grad]
        # with a bias, as the conv architecture has, torch hands convolutions to oneDNN
        for n, c, c_out in ((20, 1, 4), (128, 1, 4), (128, 4, 8), (64, 16, 32)):
            x = torch.randn(n, c, 8, 8, generator=g, requires_grad=True)
            w = torch.randn(c_out, c, 3, 3, generator=g, requires_grad=True)
            h = F.conv2d(x, w, torch.randn(c_out, generator=g), stride=2, padding=1)
            h = F.relu(F.batch_norm(h, None, None, training=True))
            y = F.conv_transpose2d(h, w, torch.randn(c, generator=g), stride=2, padding=1, output_padding=1)
            F.binary_cross_entropy_with_logits(y, torch.rand(y.shape, generator=g)).backward()
            got += [h, y, x.grad, w.grad]
        v = torch.rand(10_000, generator=g) * 8 + 1e-3
        got += [v.exp(), v.log(), v.log1p(), v.lgamma(), v.sqrt(), torch.erf(v - 4), v.sum()]
        got += [v.reshape(100, 100).logsumexp(1)]
        got += [torch.cdist(v[:600].reshape(200, 3), v[600:900].reshape(100, 3))]
        p = torch.nn.Parameter(torch.randn(300, generator=g))
        adam = torch.optim.Adam([p], lr=1e-3)
        for _ in range(3):
            adam.zero_grad()
            (p.sin() ** 2).sum().backward()
            adam.step()
        got.append(p)
    digest = hashlib.sha256(machine().encode())
    for array in got:
        digest.update(array.detach().numpy().tobytes())
    return digest.hexdigest()[:16]


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
        model = load_golden(name)
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
        model = load_golden(name)
        for key, value in outputs(name, model, X[:40], y[:40]).items():
            arrays[f"{name}/{key}"] = value
        arrays[f"machine/{name}"] = np.array(machine())
    np.savez_compressed(HERE / "outputs.npz", **arrays)
    print(f"recorded {names} again from their files on {machine()}")


def machine_record_path():
    return HERE / "machines" / f"{kernel_fingerprint()}.npz"


def record_machine():
    """Record in ``machines/<fingerprint>.npz`` the bits this machine gives: loaded files, today's fits, a resume.

    ``<name>/<output>``: what each golden file gives; ``fit:<name>/<output>``:
    what fitting :data:`TRAINED` today gives; ``resume:<parameter>``: the
    weights :func:`resume_checkpoint` gives. ``machine`` and ``cpu`` say where
    it was recorded, for a reader.
    """
    X, y = data()
    arrays = {"machine": np.array(machine()), "cpu": np.array(cpu_name())}
    for name in models():
        for key, value in outputs(name, load_golden(name), X[:40], y[:40]).items():
            arrays[f"{name}/{key}"] = value
    for name in TRAINED:
        model = fit_golden(name, models()[name])
        for key, value in outputs(name, model, X[:40], y[:40]).items():
            arrays[f"fit:{name}/{key}"] = value
    for key, value in resume_checkpoint().net_.module_.state_dict().items():
        arrays[f"resume:{key}"] = value.numpy()
    path = machine_record_path()
    path.parent.mkdir(exist_ok=True)
    np.savez_compressed(path, **arrays)
    print(f"recorded {path.name} on {machine()}, {cpu_name()}")


def cpu_name():
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


def add(names):
    """Write the files and outputs of models added to :func:`models` since the others were written.

    The other files and outputs stay as they are; ``machine/<name>`` names
    the machine each added model was written on.
    """
    X, y = data()
    with np.load(HERE / "outputs.npz") as saved:
        arrays = dict(saved)
    for name in names:
        model = fit_golden(name, models()[name])
        model.save(HERE / f"{name}.skvae", training_state=True)
        joblib.dump(model, HERE / f"{name}.joblib")
        for key, value in outputs(name, model, X[:40], y[:40]).items():
            arrays[f"{name}/{key}"] = value
        arrays[f"machine/{name}"] = np.array(machine())
    np.savez_compressed(HERE / "outputs.npz", **arrays)
    print(f"added {names} on {machine()}")


def main():
    if sys.argv[1:2] == ["--add"]:
        return add(sys.argv[2:])
    if sys.argv[1:2] == ["--reload"]:
        return reload(sys.argv[2:])
    if sys.argv[1:] == ["--rescore"]:
        return rescore()
    if sys.argv[1:] == ["--record-machine"]:
        return record_machine()
    X, y = data()
    arrays = {}
    for name, model in models().items():
        fit_golden(name, model)
        model.save(HERE / f"{name}.skvae", training_state=True)
        joblib.dump(model, HERE / f"{name}.joblib")
        for key, value in outputs(name, model, X[:40], y[:40]).items():
            arrays[f"{name}/{key}"] = value
    np.savez_compressed(HERE / "outputs.npz", machine=np.array(machine()), skvae_version=np.array(skvae.__version__), **arrays)
    print(f"wrote {len(models())} models on {machine()}")


if __name__ == "__main__":
    main()
