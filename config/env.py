"""The one place that reads the environment. Every variable is listed in the README."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (never committed) may set variables for development.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
