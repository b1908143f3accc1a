"""The ``gcl`` command line (installed as ``gcl.cli``)."""
