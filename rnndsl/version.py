"""The package version, in a leaf module that every stage may import (the facade imports the whole package)."""

__version__ = "0.1.0"
