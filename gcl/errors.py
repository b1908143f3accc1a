"""Exception hierarchy of gcl.

Every error a user can cause (bad data, bad config, unsafe checkpoint, missing dataset) is a
:class:`GCLError`; the CLI prints it as one line and exits with code 2.
"""

from __future__ import annotations

__all__ = [
    'GCLError',
    'GCLDataError',
    'GCLConfigError',
    'GCLCheckpointError',
    'DatasetNotFoundError',
    'NotFittedError',
    'TrainingDivergedError',
]


class GCLError(Exception):
    """Base class of every error gcl raises on purpose."""


class GCLDataError(GCLError, ValueError):
    """A graph, feature matrix, label vector or data file is malformed."""


class GCLConfigError(GCLError, ValueError):
    """An unknown method / dataset / option, or an invalid setting."""


class GCLCheckpointError(GCLError):
    """A checkpoint is missing, not ours, or not safe to load."""


class DatasetNotFoundError(GCLError, FileNotFoundError):
    """A dataset is neither shipped, nor under the data root, nor downloadable."""


class NotFittedError(GCLError, AttributeError):
    """An estimator was used before ``fit``."""


class TrainingDivergedError(GCLError, FloatingPointError):
    """The training loss became NaN or infinite."""
