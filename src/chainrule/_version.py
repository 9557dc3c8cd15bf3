"""The version string, alone, so that any module (and the build) can read it without cycles."""

__version__ = "0.2.0"
