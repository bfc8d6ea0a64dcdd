from django.apps import AppConfig


class ReservationsConfig(AppConfig):
    name = "reservations"

    def ready(self) -> None:
        from core.metrics import counter_define

        counter_define("holds", "Seat holds made", ("concert",))
        counter_define("held_seats", "Seats held", ("concert",))
        counter_define("hold_expirations", "Holds closed unpaid when their time ran out")
        counter_define("payments", "Payment attempts by outcome", ("outcome",))
        counter_define("ticket_refunds", "Ticket refunds")
