import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# In a fresh interpreter, as a gunicorn worker starts: the warm-up, then a publish from a new
# thread (gunicorn's threads serve the requests). Prints whether that thread found the process's
# result backend, and what the publish had to import.
PUBLISH_AFTER_WARM_UP = """
import sys, threading
import django
django.setup()
from config.celery import app, publishing_warm_up
from points.tasks import send_charge_receipt
publishing_warm_up()
backend = app.backend
shared = []
reader = threading.Thread(target=lambda: shared.append(app.backend is backend))
reader.start()
reader.join()
before = set(sys.modules)
publisher = threading.Thread(target=lambda: send_charge_receipt.delay(0))
publisher.start()
publisher.join()
print(shared == [True], sorted(set(sys.modules) - before))
"""


def test_a_web_worker_sets_up_publishing_before_it_serves():
    """Celery builds its result backend (scanning every installed package's entry points) and
    imports its broker's transport on the first publish, and the backend once per thread unless
    told it is thread-safe: a fan's refund or charge in the rush paid for that (config/celery.py)."""
    result = subprocess.run(
        [sys.executable, "-c", PUBLISH_AFTER_WARM_UP],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True []"
