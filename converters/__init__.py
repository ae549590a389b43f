"""databack: get your data back out of wearables' captured API traffic."""

__version__ = "0.1.0"
