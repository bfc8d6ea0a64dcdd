import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

from core.wsgi import drain_unread_body  # noqa: E402 - needs the settings module set above

application = drain_unread_body(get_wsgi_application())
