"""Shared test setup: figures render off screen."""

import matplotlib

matplotlib.use("Agg")
