from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For records that change only through the services, never by hand (money, seats, sales).
    Viewing needs Django's view permission, e.g. through the Organizers group."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
