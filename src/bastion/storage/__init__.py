"""Persistent state behind repository interfaces; ``open_store(url)`` picks the backend."""

from bastion.storage.factory import StorageUrlError, open_store
from bastion.storage.interfaces import (
    AlreadyExists,
    DeleteConflict,
    IamRepository,
    InvalidMarker,
    MetaRepository,
    NotFound,
    StorageError,
    Store,
)

__all__ = [
    "AlreadyExists",
    "DeleteConflict",
    "IamRepository",
    "InvalidMarker",
    "MetaRepository",
    "NotFound",
    "StorageError",
    "StorageUrlError",
    "Store",
    "open_store",
]
