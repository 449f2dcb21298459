"""Pytest set-up shared by the unit tests and the nbval notebook runs."""

import os
import tempfile

import matplotlib

from augkit import config

matplotlib.use("Agg")

# Notebook kernels start in notebooks/, so a relative AUGKIT_DATA_DIR such as
# ../shared/data (relative to the repository root) is made absolute before nbval
# starts them; kernels inherit this process's environment.
config.pin_data_dir()

# Models that tests and notebook retrain cells write go to a throw-away folder, never into
# the project's runs/models (or the package): kernels inherit this too.
os.environ.setdefault("AUGKIT_MODELS_DIR", tempfile.mkdtemp(prefix="augkit-test-models-"))
