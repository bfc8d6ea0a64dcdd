"""config/gunicorn.py as gunicorn reads it."""

import runpy
from pathlib import Path

from gunicorn.config import Config
from gunicorn.glogging import Logger

GUNICORN_CONFIG = Path(__file__).resolve().parents[2] / "config" / "gunicorn.py"


def gunicorn_logger(monkeypatch, tmp_path, **env: str) -> Logger:
    # The file sets a metrics directory only where none is set: keep this process's own.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.delenv("GUNICORN_ACCESS_LOG", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = Config()
    cfg.set("accesslog", runpy.run_path(str(GUNICORN_CONFIG))["accesslog"])
    return Logger(cfg)


def test_the_access_log_goes_to_stdout_by_default(monkeypatch, tmp_path):
    assert gunicorn_logger(monkeypatch, tmp_path).access_log_enabled


def test_an_empty_access_log_setting_switches_it_off(monkeypatch, tmp_path):
    # Not the same as /dev/null, to which gunicorn still formats every request's line.
    assert not gunicorn_logger(monkeypatch, tmp_path, GUNICORN_ACCESS_LOG="").access_log_enabled
    assert gunicorn_logger(monkeypatch, tmp_path, GUNICORN_ACCESS_LOG="/dev/null").access_log_enabled
