import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_production_settings_pass_the_deploy_checklist():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "PIN_PEPPER": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "tickets.example.com",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    # Set but empty, so a key scripts/run keeps in this checkout's .env cannot stand in for it.
    env = {**os.environ, "DJANGO_SECRET_KEY": "", "DJANGO_SETTINGS_MODULE": "config.settings.production"}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_refuse_to_start_without_a_pin_pepper():
    env = {k: v for k, v in os.environ.items() if k != "PIN_PEPPER"}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)})

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "PIN_PEPPER" in result.stderr


def run_check(secret_key: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secret_key,
        "PIN_PEPPER": secrets.token_urlsafe(50),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.security
@pytest.mark.parametrize(
    "secret_key",
    [
        "dev-only-insecure-key-change-me",  # base settings' default
        "change-me-in-production",  # the compose file's former default
        "collectstatic-only",  # the Dockerfile's build-time value
        "django-insecure-" + "x1y2z3" * 10,  # startproject's
        "Qm9vc3Q-short-key-7f3a",  # short
        "ab" * 40,  # long but two characters
    ],
)
def test_production_settings_refuse_a_published_or_weak_secret_key(secret_key):
    result = run_check(secret_key)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.security
def test_compose_refuses_to_start_without_a_secret_key(tmp_path):
    """Compose ran every service with the public default key when none was set."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (scripts/test installs it)")
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}

    refused = subprocess.run(
        [compose, "--env-file", str(env_file), "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    accepted = subprocess.run(
        [compose, "--env-file", str(env_file), "config", "-q"],
        cwd=ROOT,
        env={**env, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)},
        capture_output=True,
        text=True,
    )

    assert refused.returncode != 0 and "DJANGO_SECRET_KEY" in refused.stderr
    assert accepted.returncode == 0, accepted.stderr
