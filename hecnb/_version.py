"""The version, in one place: the package face, the facade and the CLI read it from here
(pyproject.toml reads it too), so that no module imports the package face."""

__version__ = "0.1.0"
