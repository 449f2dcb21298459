"""Pytest set-up shared by the unit tests and the nbval notebook runs."""

import os

import matplotlib

matplotlib.use("Agg")

# Notebook kernels start in notebooks/, so a relative AUGKIT_DATA_DIR such as
# ../shared/data (relative to the repository root) is made absolute before nbval
# starts them; kernels inherit this process's environment.
_dir = os.environ.get("AUGKIT_DATA_DIR")
if _dir and not os.path.isabs(_dir):
    os.environ["AUGKIT_DATA_DIR"] = os.path.abspath(_dir)
