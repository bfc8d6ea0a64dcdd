from django.urls import path

from pages import account, door, seats, views

app_name = "pages"

urlpatterns = [
    path("", views.concert_list_page, name="concert-list"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("concerts/<int:concert_id>/", views.concert_detail, name="concert-detail"),
    path("concerts/<int:concert_id>/queue/", views.waiting_room, name="waiting-room"),
    path("concerts/<int:concert_id>/queue/leave/", views.waiting_room_leave, name="waiting-room-leave"),
    path("shows/<int:show_id>/seats/", views.seat_map, name="seat-map"),
    path("shows/<int:show_id>/seats/live/", seats.seat_map_snapshot, name="seat-map-snapshot"),
    path("shows/<int:show_id>/seats/best/", seats.seat_map_best, name="seat-map-best"),
    path("reservations/<int:reservation_id>/pay/", views.payment, name="payment"),
    path("me/tickets/", views.tickets, name="tickets"),
    path("me/tickets/<int:reservation_id>/refund/", views.ticket_refund, name="ticket-refund"),
    path("me/account/", account.account, name="account"),
    path("me/account/password/", account.account_password, name="account-password"),
    path("me/account/pin/", account.account_pin, name="account-pin"),
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/charge/", views.wallet_charge_view, name="wallet-charge"),
    path("wallet/withdraw/", views.wallet_withdraw_view, name="wallet-withdraw"),
    path("door/", door.door_show_list, name="door-shows"),
    path("door/shows/<int:show_id>/", door.door_check_in, name="door-check-in"),
]
