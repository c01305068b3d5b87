"""Settings read from the environment: the lock wait (AUTHZ_DB_LOCK_TIMEOUT_MS)."""

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
