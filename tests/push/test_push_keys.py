"""The VAPID key from the settings: given (raw or PEM) or made once and kept."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from push.keys import KEY_FILE, b64url, load, public_key
from settings import load_settings, with_kept_keys


def test_a_given_raw_key_is_used_and_nothing_is_written(tmp_path):
    private = ec.generate_private_key(ec.SECP256R1())
    raw = b64url(private.private_numbers().private_value.to_bytes(32, "big"))
    settings = load_settings({"VAPID_PRIVATE_KEY": raw, "DATA_DIR": str(tmp_path)})
    assert settings.vapid_private_key == raw
    assert not (tmp_path / KEY_FILE).exists()
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert public_key(load(settings.vapid_private_key)) == b64url(point)


def test_a_given_pem_key_is_the_same_key_as_raw(tmp_path):
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings = load_settings({"VAPID_PRIVATE_KEY": pem, "DATA_DIR": str(tmp_path)})
    assert settings.vapid_private_key == b64url(private.private_numbers().private_value.to_bytes(32, "big"))


def test_without_a_key_one_is_made_once_and_kept(tmp_path):
    assert load_settings({"DATA_DIR": str(tmp_path)}).vapid_private_key == ""  # reading never writes
    first = with_kept_keys(load_settings({"DATA_DIR": str(tmp_path)})).vapid_private_key
    assert first and load_settings({"DATA_DIR": str(tmp_path)}).vapid_private_key == first
    assert (tmp_path / KEY_FILE).read_text() == first


def test_reading_the_settings_writes_nothing_and_start_keeps_both_keys(tmp_path):
    data_dir = tmp_path / "data"
    read = load_settings({"DATA_DIR": str(data_dir)})
    assert (read.secret_key, read.vapid_private_key) == ("", "") and not data_dir.exists()
    kept = with_kept_keys(read)
    assert sorted(p.name for p in data_dir.iterdir()) == ["secret_key", KEY_FILE]
    assert all((data_dir / name).stat().st_mode & 0o777 == 0o600 for name in ("secret_key", KEY_FILE))
    again = with_kept_keys(load_settings({"DATA_DIR": str(data_dir)}))
    assert (again.secret_key, again.vapid_private_key) == (kept.secret_key, kept.vapid_private_key)
