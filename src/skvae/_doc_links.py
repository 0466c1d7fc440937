"""Where an estimator's HTML repr (in a notebook) links to: its page on the documentation site."""

# The site that `make docs` builds (docs/), as published; API pages live under api/generated/.
DOCS_URL = "https://skvae.readthedocs.io/en/stable/"


class DocLinkMixin:
    """Link the repr's "?" icon and each parameter's name to the estimator's API page.

    scikit-learn builds the links from these two attributes, as for its own
    estimators; a parameter's link jumps to its entry on the page.
    """

    _doc_link_module = "skvae"
    _doc_link_template = DOCS_URL + "api/generated/{estimator_module}.{estimator_name}.html"
