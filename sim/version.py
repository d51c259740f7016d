"""The package version, from the installed metadata (or the source tree's)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bankplatform-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.1.0+source"
