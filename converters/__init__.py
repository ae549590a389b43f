"""databack: get your data back out of wearables' captured API traffic.

`from converters import convert, load`: see `converters.api`. Imported on first use, so that importing the package
(as `databack --help` does) stays cheap.
"""

__version__ = "0.1.0"
__all__ = ["convert", "load"]


def __getattr__(name: str):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'converters' has no attribute {name!r}")
