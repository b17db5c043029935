"""Continuous backup off the box: Litestream streams the SQLite WAL to an S3-compatible bucket,
the server sends each finished file there once, everything age-encrypted to the operator's key."""

from backup.replication import Replication
from backup.restore import RestoreRefused, restore_from_bucket
from backup.settings import BackupSettings, BackupSettingsError, load_backup_settings

__all__ = [
    "BackupSettings",
    "BackupSettingsError",
    "Replication",
    "RestoreRefused",
    "load_backup_settings",
    "restore_from_bucket",
]
