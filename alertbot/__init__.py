"""alertbot: personal daily digests of new research papers."""

__version__ = "0.1.0"
