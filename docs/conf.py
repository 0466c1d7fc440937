"""Sphinx configuration of skvae's documentation site: ``make docs`` builds it into docs/_build/html."""

import os
import warnings

import skvae
from skvae._doc_links import DOCS_URL

project = "skvae"
author = "The skvae developers"
copyright = "2026, The skvae developers"
release = skvae.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

# Builds offline: no intersphinx, no remote images. Every warning is an error (make docs passes -W).
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
html_baseurl = DOCS_URL

# API reference: one page per public name, generated from the numpydoc docstrings.
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# The user guide includes sections of the README (one source for both). Its
# headings start at H2, and its links to repository files are not pages here.
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "myst.xref_missing"]

# The gallery: examples/*.py, run, with the figures they draw. The Dask and
# DDP scripts need a cluster or torchrun: shown, not run. `make docs-noplot`
# (what CI runs) skips running them all.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/(plot_|anomaly_detection|clustering|dimensionality_reduction)",
    "doc_module": ("skvae",),
    "reference_url": {"skvae": None},
    "backreferences_dir": "api/generated/backreferences",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 5,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
}
if os.environ.get("SKVAE_DOCS_NOPLOT"):
    sphinx_gallery_conf["plot_gallery"] = "False"

html_theme = "pydata_sphinx_theme"
html_title = f"skvae {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": [], "install": []}
html_show_sourcelink = False

# The examples train with matplotlib's non-interactive backend and call plt.show()
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="FigureCanvasAgg is non-interactive")


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing methods: generated, the same on every estimator."""
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
