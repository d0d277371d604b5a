"""clearway: clearance and targeting for cross-border e-commerce."""

from clearway.errors import (
    ClearwayError,
    ConfigurationError,
    ErrorDetail,
    InputError,
    NotFound,
    StoreError,
    ValidationFailed,
)
from clearway.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "ClearwayError",
    "ConfigurationError",
    "ErrorDetail",
    "InputError",
    "NotFound",
    "Settings",
    "StoreError",
    "ValidationFailed",
    "__version__",
]
