"""The central configuration: the example file is complete and valid; the DSN comes from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.config import CentralSection, load
from sync.config import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "central.example.toml"


def test_example_config_lists_every_default():
    config = load(EXAMPLE, env={})
    assert config.central == CentralSection()
    assert config.base_url == "http://127.0.0.1:8088"


def test_dsn_from_the_environment_and_errors_name_the_key(tmp_path):
    config = load(EXAMPLE, env={"STORE_EDGE_CENTRAL_DSN": "postgresql://central@db/se"})
    assert config.central.dsn == "postgresql://central@db/se"
    bad = tmp_path / "bad.toml"
    bad.write_text("[central]\nworkers = 'two'\n")
    with pytest.raises(ConfigError, match=r"\[central\] workers: expected int, got str"):
        load(bad, env={})
