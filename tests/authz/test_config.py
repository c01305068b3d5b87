"""Settings read from the environment: the lock wait (AUTHZ_DB_LOCK_TIMEOUT_MS), the change
channel (AUTHZ_CHANGE_NOTIFY), and the
audit key settings (AUTHZ_AUDIT_KEY or AUTHZ_AUDIT_KEY_FILE, refused loudly when set
but unusable, and never shown)."""

from __future__ import annotations

import pytest

from authz.config import ConfigError, Settings
from models.db import LOCK_TIMEOUT_MS


def test_the_lock_timeout_defaults_to_the_storage_layers_and_is_read_from_the_environment():
    assert Settings.from_env({}).db_lock_timeout_ms == LOCK_TIMEOUT_MS == 2000
    assert Settings.from_env({"AUTHZ_DB_LOCK_TIMEOUT_MS": "500"}).db_lock_timeout_ms == 500


@pytest.mark.parametrize("value", ["0", "-1", "2s", ""])
def test_a_bad_lock_timeout_names_the_setting(value):
    with pytest.raises(ConfigError, match="AUTHZ_DB_LOCK_TIMEOUT_MS"):
        Settings.from_env({"AUTHZ_DB_LOCK_TIMEOUT_MS": value})


def test_the_change_channel_is_on_unless_turned_off():
    assert Settings.from_env({}).change_notify is True
    assert Settings.from_env({"AUTHZ_CHANGE_NOTIFY": "off"}).change_notify is False
    with pytest.raises(ConfigError, match="AUTHZ_CHANGE_NOTIFY"):
        Settings.from_env({"AUTHZ_CHANGE_NOTIFY": "sometimes"})


KEY = "0123456789abcdef" * 4
OLD_KEY = "fedcba9876543210" * 4


def test_no_key_configured_means_none():
    assert Settings.from_env({}).audit_keys == ()


def test_a_key_from_the_environment():
    assert Settings.from_env({"AUTHZ_AUDIT_KEY": f" {KEY}\n"}).audit_keys == (KEY,)


def test_keys_from_a_file_newest_first(tmp_path):
    path = tmp_path / "audit.key"
    path.write_text(f"# current\n{KEY}\n\n  # retired 2026-01\n{OLD_KEY}  \n")
    assert Settings.from_env({"AUTHZ_AUDIT_KEY_FILE": str(path)}).audit_keys == (KEY, OLD_KEY)


def test_the_keys_are_never_shown(tmp_path):
    settings = Settings.from_env({"AUTHZ_AUDIT_KEY": KEY})
    assert KEY not in repr(settings) and KEY not in str(settings)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"AUTHZ_AUDIT_KEY": KEY, "AUTHZ_AUDIT_KEY_FILE": "/x"}, "not both"),
        ({"AUTHZ_AUDIT_KEY": ""}, "AUTHZ_AUDIT_KEY: an audit key must be at least 32 characters"),
        ({"AUTHZ_AUDIT_KEY": "short-secret"}, "AUTHZ_AUDIT_KEY: an audit key must be at least 32"),
        ({"AUTHZ_AUDIT_KEY_FILE": "/nonexistent/audit.key"}, "AUTHZ_AUDIT_KEY_FILE: cannot read"),
    ],
)
def test_a_key_set_but_unusable_stops_the_process(env, message):
    with pytest.raises(ConfigError, match=message) as raised:
        Settings.from_env(env)
    assert "short-secret" not in str(raised.value) and KEY not in str(raised.value)


@pytest.mark.parametrize("content", ["", "# only a comment\n\n", f"{KEY}\nshort-secret\n"])
def test_a_key_file_without_usable_keys_stops_the_process(tmp_path, content):
    path = tmp_path / "audit.key"
    path.write_text(content)
    with pytest.raises(ConfigError, match="AUTHZ_AUDIT_KEY_FILE") as raised:
        Settings.from_env({"AUTHZ_AUDIT_KEY_FILE": str(path)})
    assert "short-secret" not in str(raised.value)
