"""augkit: a notebook teaching kit on generative data augmentation."""

__version__ = "0.1.0"
