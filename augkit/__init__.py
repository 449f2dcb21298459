"""augkit: a notebook teaching kit on generative data augmentation."""

import os

# TensorFlow's C++ start-up lines (the oneDNN and CPU-feature notices, absl's "log
# messages before InitializeLog" line) are INFO-level, and every notebook showed them in
# red on stderr. Level 1 hides INFO only: TensorFlow's warnings and errors still show, and
# oneDNN stays on (turning it off made training 3x slower here). Effective when augkit is
# imported before TensorFlow, as every notebook's first cell does; set the variable
# yourself to override.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

__version__ = "0.1.0"
