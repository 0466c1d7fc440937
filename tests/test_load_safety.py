"""Loading a model file made by someone else runs no code: files crafted by hand, as an attacker would."""

import hashlib
import json
import pickle
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.datasets import load_digits

import skvae
from golden_parts import CountEpochs, Encoder
from skvae import AutoencoderTransformer, ModelFileError, VAETransformer
from skvae.modules import ConvDecoder

GOLDEN = Path(__file__).parent / "golden"
FAST = dict(hidden_layer_sizes=(16,), max_epochs=2, random_state=0)


def read(path):
    """The JSON tree and tensors of an skvae file."""
    with safe_open(str(path), "pt") as f:
        return json.loads(f.metadata()["payload"]), {k: f.get_tensor(k) for k in f.keys()}


def craft(path, tree, tensors):
    """Write ``tree`` as an skvae file with a valid checksum: a checksum is no signature."""
    payload = json.dumps(tree)
    digest = hashlib.sha256(payload.encode())
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    metadata = {"format": "skvae", "format_version": "1", "skvae_version": "0.1.0", "torch_version": "2.13.0",
                "payload": payload, "checksum": digest.hexdigest()}
    save_file(tensors, str(path), metadata=metadata)
    return path


def entry(tree, key, section="params"):
    """The encoded value of ``key`` in an object entry's params or state."""
    return dict(tree[section]["__dict__"])[key]


def with_entry(tree, key, value, section="params"):
    """A copy of an object entry with ``key`` of its params or state set to ``value``."""
    tree = json.loads(json.dumps(tree))
    pairs = [pair for pair in tree[section]["__dict__"] if pair[0] != key]
    tree[section]["__dict__"] = pairs + [[key, value]]
    return tree


def obj(name, **params):
    return {"__object__": name, "params": {"__dict__": [[k, v] for k, v in params.items()]}}


@pytest.fixture(scope="module")
def ae_file():
    """An ordinary saved autoencoder (it has a fitted mixture): the file an attacker edits."""
    return read(GOLDEN / "ae-mlp.skvae")


class Explode:
    """Unpickling this runs a command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (__import__("os").system, (f"touch {self.marker}",))


# Under each of the four packages that were trusted by prefix, and outside them: a
# callable that runs a command, writes or opens a file, or unpickles, with the
# arguments that make it leave the marker.
PAYLOADS = {
    "torch runs a command": lambda m, p: obj("torch.utils.collect_env:run", command=f"touch {m}"),
    "torch unpickles": lambda m, p: obj("torch.serialization:load", f=str(p), weights_only=False),
    "torch writes a file": lambda m, p: obj("torch.serialization:save", obj=1, f=str(m)),
    "sklearn runs python": lambda m, p: obj("sklearn.utils._testing:assert_run_python_script_without_output",
                                            source_code=f"open({str(m)!r}, 'w')"),
    "sklearn writes a file": lambda m, p: obj("sklearn.datasets._svmlight_format_io:dump_svmlight_file",
                                              X=[[1.0]], y=[1.0], f=str(m)),
    "skorch opens a file": lambda m, p: obj("skorch.utils:open_file_like", f=str(m), mode="w"),
    "skorch reads its checkpoints": lambda m, p: obj("skorch.callbacks.training:LoadInitState", checkpoint=str(m)),
    "skvae runs its demo": lambda m, p: obj("skvae._demo:run_demo", out=str(m), epochs=1),
    "skvae reads images": lambda m, p: obj("skvae.datasets:load_image_folder", path=str(m)),
    "builtins exec": lambda m, p: obj("builtins:exec", source=f"open({str(m)!r}, 'w')"),
    "os system": lambda m, p: obj("os:system", command=f"touch {m}"),
}

# Where in a file the payload stands: anywhere the tree can hold an entry.
PLACES = {
    "the top": lambda tree, e: e,
    "a parameter": lambda tree, e: with_entry(tree, "optimizer", e),
    "a fitted attribute": lambda tree, e: with_entry(tree, "latent_density_", e, "state"),
    "a callback": lambda tree, e: with_entry(tree, "callbacks", [e]),
    "a partial's arguments": lambda tree, e: with_entry(
        tree, "optimizer", {"__partial__": [{"__import__": "torch.optim.sgd:SGD"}, {"__tuple__": [e]},
                                            {"__dict__": [["momentum", e]]}]}),
    "a partial's function": lambda tree, e: with_entry(
        tree, "optimizer", {"__partial__": [{"__import__": e["__object__"]}, {"__tuple__": []}, e["params"]]}),
    "a referenced class": lambda tree, e: with_entry(tree, "architecture", {"__tuple__": [
        {"__import__": e["__object__"]}, {"__import__": e["__object__"]}]}),
    "a nested estimator": lambda tree, e: obj("skvae._outlier:AutoencoderOutlierDetector",
                                              estimator=with_entry(tree, "callbacks", [e])),
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_file_naming_code_off_the_list_is_refused_and_runs_nothing(payload, place, ae_file, tmp_path):
    tree, tensors = ae_file
    marker = tmp_path / "ran"
    bomb = tmp_path / "bomb.pkl"
    bomb.write_bytes(pickle.dumps(Explode(marker)))
    path = craft(tmp_path / "evil.skvae", PLACES[place](tree, PAYLOADS[payload](marker, bomb)), tensors)
    module = PAYLOADS[payload](marker, bomb)["__object__"].split(":")[0]
    imported_before = module in sys.modules
    with pytest.raises(ModelFileError, match=r"not on skvae's list.*it was not imported.*trusted=\["):
        skvae.load(path)
    assert not marker.exists()
    assert (module in sys.modules) == imported_before
    assert skvae.get_untrusted_types(path) == [module + "." + PAYLOADS[payload](marker, bomb)["__object__"]
                                               .split(":")[1]]


def test_the_refusal_is_the_same_whatever_the_name(ae_file, tmp_path):
    tree, tensors = ae_file
    messages = []
    for name in ("os:system", "no_such_module_anywhere:thing", "skvae._demo:run_demo", "torch:nonexistent"):
        path = craft(tmp_path / "probe.skvae", with_entry(tree, "optimizer", {"__import__": name}), tensors)
        with pytest.raises(ModelFileError) as error:
            skvae.load(path)
        messages.append(str(error.value).replace(name.replace(":", "."), "NAME"))
    assert len(set(messages)) == 1, messages


def test_a_trusted_name_is_built_only_where_its_kind_belongs(ae_file, tmp_path):
    tree, tensors = ae_file
    marker = tmp_path / "ran"
    run = "torch.utils.collect_env:run"
    places = [
        with_entry(tree, "architecture", {"__tuple__": [{"__import__": run}, {"__import__": run}]}),
        with_entry(tree, "optimizer", {"__partial__": [{"__import__": run}, {"__tuple__": [f"touch {marker}"]},
                                                       {"__dict__": []}]}),
        with_entry(tree, "callbacks", [obj(run, command=f"touch {marker}")]),
        obj(run, command=f"touch {marker}"),
        # a user's encoder, trusted, but named as a callback: not a skorch Callback
        with_entry(tree, "callbacks", [obj("golden_parts:Encoder", input_shape=[64], n_outputs=2)]),
    ]
    for i, changed in enumerate(places):
        path = craft(tmp_path / f"wrong-place-{i}.skvae", changed, tensors)
        with pytest.raises(ModelFileError, match="needs a subclass of"):
            skvae.load(path, trusted=["torch.utils.collect_env.run", "golden_parts.Encoder"])
    assert not marker.exists()


def test_a_file_holding_something_save_never_writes_gets_a_model_file_error(ae_file, tmp_path):
    tree, tensors = ae_file
    broken = {
        "a private attribute": with_entry(tree, "_module_class", {"__import__": "skvae.modules:Autoencoder"}, "state"),
        "an unknown parameter": with_entry(tree, "no_such_parameter", 1),
        "a parameter out of range": with_entry(tree, "hidden_layer_sizes", {"__tuple__": [-5]}),
        "a missing tensor": with_entry(tree, "n_features_in_", {"__ndarray__": "nowhere"}, "state"),
        "an object array of objects": with_entry(
            tree, "feature_names_in_", {"__strings__": [{"__import__": "os:system"}], "dtype": "object"}, "state"),
        "a dtype that is not of strings": with_entry(
            tree, "feature_names_in_", {"__strings__": ["a"], "dtype": "float64"}, "state"),
        "no estimator at the top": [1, 2, 3],
        "a mixture at the top": entry(tree, "latent_density_", "state"),
        "two kinds in one entry": {"__tuple__": [], "__import__": "os:system"},
        # on the list to be named, never to be built from a file
        "an optimizer built": with_entry(tree, "optimizer", obj("torch.optim.adam:Adam", params=[])),
        "a layer built": with_entry(tree, "architecture", {"__tuple__": [obj("torch.nn.modules.linear:Linear",
                                                                             in_features=64, out_features=4)] * 2}),
    }
    for what, changed in broken.items():
        path = craft(tmp_path / "broken.skvae", changed, tensors)
        with pytest.raises(ModelFileError, match="cannot rebuild|not on skvae.s list|needs a subclass"):
            skvae.load(path)


def test_get_untrusted_types_names_exactly_the_custom_encoder(tmp_path):
    images = load_digits().data[:200] / 16
    model = VAETransformer(n_components=2, image_shape=(8, 8), architecture=(
        partial(Encoder, width=8), partial(ConvDecoder, conv_channels=(4,), hidden_layer_sizes=(16,))),
        **FAST).fit(images)
    path = model.save(tmp_path / "custom.skvae")
    names = skvae.get_untrusted_types(path)
    assert names == ["golden_parts.Encoder"]
    # skvae's part is named where users import it, whichever file defines it
    assert '"skvae.modules:ConvDecoder"' in json.dumps(read(path)[0])
    with pytest.raises(ModelFileError, match="golden_parts.Encoder"):
        skvae.load(path)
    loaded = skvae.load(path, trusted=names)
    np.testing.assert_array_equal(loaded.transform(images), model.transform(images))


def test_a_trusted_callback_loads_and_an_untrusted_one_is_named(tmp_path):
    X = load_digits().data[:200] / 16
    model = AutoencoderTransformer(callbacks=[CountEpochs(start=3)], **FAST).fit(X)
    path = model.save(tmp_path / "callback.skvae")
    assert skvae.get_untrusted_types(path) == ["golden_parts.CountEpochs"]
    with pytest.raises(ModelFileError, match=r"trusted=\['golden_parts.CountEpochs'\]"):
        skvae.load(path)
    loaded = skvae.load(path, trusted=["golden_parts.CountEpochs"])
    assert isinstance(loaded.callbacks[0], CountEpochs) and loaded.callbacks[0].start == 3
    with pytest.raises(TypeError, match="list of exact names"):
        skvae.load(path, trusted="golden_parts.CountEpochs")


PROPERTY = textwrap.dedent(
    """
    import json, sys, tempfile
    from pathlib import Path

    import torch
    from hypothesis import HealthCheck, given, settings, strategies as st

    sys.path.insert(0, sys.argv[1])
    import skvae
    import skvae._serialization
    from skvae._trust import ALLOWED, ESTIMATOR
    from test_load_safety import craft, read

    GOLDEN = Path(sys.argv[1]) / "golden"
    LEGIT = [read(GOLDEN / name) for name in ("vae-conv.skvae", "ae-mlp.skvae", "detector.skvae")]
    for tree, tensors in LEGIT:  # the modules an ordinary load imports, imported once before counting
        skvae.load(craft(Path(tempfile.mkdtemp()) / "warm.skvae", tree, tensors))

    NAMES = sorted(ALLOWED) + [
        "os:system", "subprocess:Popen", "builtins:exec", "builtins:eval", "pickle:loads", "shutil:rmtree",
        "torch.utils.collect_env:run", "torch.serialization:load", "torch.hub:load", "torch:compile",
        "sklearn.utils._testing:assert_run_python_script_without_output", "sklearn.datasets:fetch_openml",
        "skorch.utils:open_file_like", "skorch.net:NeuralNet", "skvae._demo:run_demo", "skvae.datasets:load_idx",
        "antigravity:fly", "sqlite3:connect", "webbrowser:open", "ctypes:CDLL", "xml.dom.minidom:parse",
        "importlib:import_module", "numpy:load", "joblib:load", "no_such_module:x",
    ]
    names = st.one_of(st.sampled_from(NAMES), st.text(max_size=30),
                      st.from_regex(r"[a-z_][a-z_.]{0,20}:[A-Za-z_.]{1,15}", fullmatch=True))
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 300), st.floats(allow_nan=False, width=32),
                        st.text(max_size=8))
    tensor_names = st.sampled_from(sorted(LEGIT[0][1])[:20] + ["missing"])

    def entries(children):
        pairs = st.lists(st.tuples(st.one_of(st.text(max_size=12), children), children), max_size=4)
        str_pairs = st.lists(st.tuples(st.text(max_size=12), children), max_size=4)
        as_dict = lambda p: {"__dict__": [list(x) for x in p]}
        return st.one_of(
            st.lists(children, max_size=4),
            st.builds(lambda v: {"__tuple__": v}, st.lists(children, max_size=4)),
            st.builds(as_dict, pairs),
            st.builds(lambda n: {"__import__": n}, names),
            st.builds(lambda n, p, s: {"__object__": n, "params": as_dict(p), "state": as_dict(s)},
                      names, str_pairs, str_pairs),
            st.builds(lambda n, p: {"__object__": n, "params": as_dict(p)}, names, str_pairs),
            st.builds(lambda f, a, k: {"__partial__": [f, {"__tuple__": a}, as_dict(k)]},
                      children, st.lists(children, max_size=2), str_pairs),
            st.builds(lambda t: {"__tensor__": t}, tensor_names),
            st.builds(lambda t: {"__ndarray__": t}, tensor_names),
            st.builds(lambda s, d: {"__strings__": s, "dtype": d}, st.lists(children, max_size=3),
                      st.sampled_from(["<U4", "object", "float64", "V8", "bogus"])),
            st.builds(lambda p: {"__path__": p}, children),
            st.builds(lambda v: {"__random_state__": v}, children),
            st.dictionaries(st.text(max_size=10), children, max_size=3),
        )

    trees = st.recursive(scalars, entries, max_leaves=12)

    def places(tree, path=()):
        yield path
        if isinstance(tree, list):
            for i, item in enumerate(tree):
                yield from places(item, path + (i,))
        elif isinstance(tree, dict):
            for key, item in tree.items():
                yield from places(item, path + (key,))

    def replaced(tree, path, value):
        if not path:
            return value
        tree = json.loads(json.dumps(tree))
        node = tree
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
        return tree

    @st.composite
    def files(draw):
        if draw(st.booleans()):
            return draw(trees), LEGIT[0][1]
        tree, tensors = draw(st.sampled_from(LEGIT))
        where = draw(st.sampled_from(list(places(tree))))
        return replaced(tree, where, draw(trees)), tensors

    counts = {"loaded": 0, "refused": 0}
    folder = Path(tempfile.mkdtemp())

    @settings(max_examples=int(sys.argv[2]), deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(files())
    def every_load_returns_an_estimator_or_refuses(file):
        tree, tensors = file
        path = craft(folder / "random.skvae", tree, tensors)
        before = set(sys.modules)
        try:
            model = skvae.load(path)
        except skvae.ModelFileError:
            counts["refused"] += 1
        else:
            assert isinstance(model, ESTIMATOR), type(model)
            counts["loaded"] += 1
        skvae.get_untrusted_types(path)
        imported = set(sys.modules) - before
        assert not imported, (sorted(imported), json.dumps(tree)[:3000])

    every_load_returns_an_estimator_or_refuses()
    print(json.dumps(counts))
    """
)


def test_random_files_load_an_estimator_or_refuse_and_import_nothing(tmp_path):
    script = tmp_path / "property.py"
    script.write_text(PROPERTY)
    done = subprocess.run([sys.executable, str(script), str(Path(__file__).parent), "300"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["refused"] > 100 and counts["loaded"] > 0, counts
