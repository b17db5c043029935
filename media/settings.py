"""The media settings, read once at start with the others."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaSettings:
    files_dir: Path  # shared by every instance of a deployment (FILES_DIR)
    max_upload_bytes: int
    quota_bytes: int  # per user: finished files plus unfinished uploads
    upload_expiry_seconds: int
    sweep_seconds: int  # how often expired uploads are cleaned up
    uploads_per_minute: int  # upload creations per user
    max_image_pixels: int
    image_decodes: int  # photos decoded at once by one process


def load_media_settings(env: dict[str, str], data_dir: Path, read_int) -> MediaSettings:
    """`read_int(env, name, default, low, high)` is the settings module's checked reader."""
    return MediaSettings(
        files_dir=Path(env.get("FILES_DIR", "").strip() or data_dir / "files"),
        max_upload_bytes=read_int(env, "MAX_UPLOAD_BYTES", 20 * MB, 1024, 2048 * MB),
        quota_bytes=read_int(env, "UPLOAD_QUOTA_BYTES", 1024 * MB, 1024, 2**50),
        upload_expiry_seconds=read_int(env, "UPLOAD_EXPIRY_SECONDS", 24 * 3600, 1, 30 * 86400),
        sweep_seconds=read_int(env, "UPLOAD_SWEEP_SECONDS", 300, 1, 86400),
        uploads_per_minute=read_int(env, "UPLOADS_PER_MINUTE", 60, 1, 100_000),
        max_image_pixels=read_int(env, "MAX_IMAGE_PIXELS", 32_000_000, 1000, 1_000_000_000),
        image_decodes=read_int(env, "IMAGE_DECODES", 2, 1, 64),
    )
