"""Pytest set-up shared by the unit tests and the nbval notebook runs."""

import matplotlib

from augkit import config

matplotlib.use("Agg")

# Notebook kernels start in notebooks/, so a relative AUGKIT_DATA_DIR such as
# ../shared/data (relative to the repository root) is made absolute before nbval
# starts them; kernels inherit this process's environment.
config.pin_data_dir()
