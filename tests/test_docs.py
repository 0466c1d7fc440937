"""The notebook repr links each estimator and parameter to its page of the documentation site."""

import re
import textwrap
from pathlib import Path

import pytest

import skvae
from skvae._doc_links import DOCS_URL, DocLinkMixin

ROOT = Path(__file__).resolve().parents[1]
ESTIMATORS = [
    skvae.AutoencoderTransformer(),
    skvae.VAETransformer(n_components=4),
    skvae.BetaVAETransformer(),
    skvae.ConditionalVAETransformer(),
    skvae.GaussianMixtureVAE(),
    skvae.VQVAETransformer(),
    skvae.AutoencoderOutlierDetector(),
]


def api_page(estimator):
    return f"{DOCS_URL}api/generated/skvae.{type(estimator).__name__}.html"


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda estimator: type(estimator).__name__)
def test_html_repr_links_every_parameter_to_its_entry_on_the_api_page(estimator):
    links = set(re.findall(r'href="([^"]+)"', estimator._repr_html_()))
    page = api_page(estimator)
    assert page in links  # the "?" icon
    for name in estimator.get_params(deep=False):
        # a text fragment that jumps to the parameter's "name : type" line of the page
        assert any(link.startswith(f"{page}#:~:text={name},-") for link in links), name
    # a type line wrapped in the docstring put a run of encoded spaces into the fragment,
    # which then matches nothing on the page
    assert not [link for link in links if "%20%20" in link]


def test_read_the_docs_builds_the_site_as_ci_does_and_serves_the_pages_the_repr_links_to():
    import yaml

    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text())
    commands = config["build"]["commands"]
    assert any(command.startswith("make docs-noplot") and "whl/cpu" in command for command in commands)
    assert 'cp -r docs/_build/html/. "$READTHEDOCS_OUTPUT/html/"' in commands  # where `make docs` writes
    assert "docs/_build/html" in (ROOT / "Makefile").read_text()
    assert DOCS_URL == "https://skvae.readthedocs.io/en/stable/"  # Read the Docs' address for the project


def test_the_pages_the_repr_links_to_are_the_ones_the_site_builds():
    api = (ROOT / "docs" / "api.rst").read_text()
    # autosummary writes a page per name listed, named module.name.html, into its toctree folder
    folder = DocLinkMixin._doc_link_template.removeprefix(DOCS_URL).rsplit("/", 1)[0] + "/"
    assert folder in set(re.findall(r":toctree: (\S+)", api))
    estimators_section = api.split(".. currentmodule:: skvae\n", 1)[1].split(".. currentmodule::", 1)[0]
    listed = set(re.findall(r"^   (\w+)$", estimators_section, flags=re.MULTILINE))
    assert set(skvae.__all__) <= listed


@pytest.mark.parametrize("page", ["index.rst", "user_guide/images.rst", "user_guide/inspecting.rst"])
def test_code_on_the_site_runs_as_written(page):
    # the README's blocks, which the user guide includes, run in test_readme
    text = (ROOT / "docs" / page).read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    assert blocks, f"{page} has no python code block"
    namespace = {}
    for block in blocks:
        exec(compile(textwrap.dedent(block), page, "exec"), namespace)
    results = {
        "index.rst": lambda: namespace["codes"].shape == (1797, 8) and namespace["new"].shape == (16, 64),
        "user_guide/images.rst": lambda: namespace["new_digits"].shape == (16, 8, 8),
        "user_guide/inspecting.rst": lambda: namespace["kl"].shape == (16,) and 0 < namespace["active"].sum() < 16,
    }
    assert results[page]()


def test_which_estimator_names_every_estimator_and_only_parameters_it_has():
    readme = (ROOT / "README.md").read_text()
    guide = readme.split("## Which estimator\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in guide.splitlines() if line.startswith("| ") and "---" not in line][1:]
    estimators = {name: getattr(skvae, name) for name in skvae.__all__ if name[0].isupper() and "Error" not in name
                  and "Warning" not in name}
    named = set()
    for task, use, parameters in rows:
        used = [name for name in estimators if f"`{name}`" in use or f"`{name}(" in use or f"({name}(" in use]
        named.update(used)
        if len(used) == 1:
            params = estimators[used[0]]().get_params()
            for parameter in re.findall(r"`([a-z_]+)(?:=[^`]*)?`", parameters):  # not `GridSearchCV`
                assert parameter in params, f"{used[0]} has no parameter {parameter} ({task})"
    assert named == set(estimators)
