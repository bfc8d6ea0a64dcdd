from django.urls import path

from pages import account, catalog, door, payment, seats, tickets, waiting_room, wallet

app_name = "pages"

urlpatterns = [
    path("", catalog.concert_list_page, name="concert-list"),
    path("signup/", account.signup, name="signup"),
    path("login/", account.login_view, name="login"),
    path("logout/", account.logout_view, name="logout"),
    path("concerts/<int:concert_id>/", catalog.concert_detail, name="concert-detail"),
    path("concerts/<int:concert_id>/queue/", waiting_room.waiting_room, name="waiting-room"),
    path("concerts/<int:concert_id>/queue/leave/", waiting_room.waiting_room_leave, name="waiting-room-leave"),
    path("shows/<int:show_id>/seats/", seats.seat_map, name="seat-map"),
    path("shows/<int:show_id>/seats/live/", seats.seat_map_snapshot, name="seat-map-snapshot"),
    path("shows/<int:show_id>/seats/best/", seats.seat_map_best, name="seat-map-best"),
    path("reservations/<int:reservation_id>/pay/", payment.payment, name="payment"),
    path("me/tickets/", tickets.tickets, name="tickets"),
    path("me/tickets/<int:reservation_id>/refund/", tickets.ticket_refund, name="ticket-refund"),
    path("me/account/", account.account, name="account"),
    path("me/account/password/", account.account_password, name="account-password"),
    path("me/account/pin/", account.account_pin, name="account-pin"),
    path("wallet/", wallet.wallet, name="wallet"),
    path("wallet/charge/", wallet.wallet_charge_view, name="wallet-charge"),
    path("wallet/withdraw/", wallet.wallet_withdraw_view, name="wallet-withdraw"),
    path("door/", door.door_show_list, name="door-shows"),
    path("door/shows/<int:show_id>/", door.door_check_in, name="door-check-in"),
]
