"""How the simulated fans behave: the numbers loadtest.rush acts on and loadtest.figures computes
the sell-out floor from. A plain module (no gevent, no locust), so run.py and the tests can import
it without monkey-patching anything."""

# Seats a fan wants (1-4) and how often.
SEAT_COUNT_WEIGHTS = {1: 0.2, 2: 0.4, 3: 0.15, 4: 0.25}
# Shares of fans (among the admitted) by behaviour after the hold.
ABANDON_SHARE = 0.06  # hold and never pay: the hold expires, the place goes to the next fan
WRONG_PIN_SHARE = 0.10  # WRONG_PINS wrong PINs, then the right one
WRONG_PINS = (1, 2)  # how many (low, high; uniform integer)
EXHAUST_SHARE = 0.02  # wrong PIN until the 5th failure removes them
REFUND_SHARE = 0.05  # of the buyers: refund at once (the seats go back on sale)
RECHARGE_SHARE = 0.5  # of the too-poor fans: charge points, pay again
# The server's failed payments before it removes the fan (SPEC default; the seeded concert's).
PAYMENT_FAILURES_ALLOWED = 5

# The fans' own pauses, seconds (low, high; uniform): the time a fan of flesh would take.
SHOWS_PAUSE = (0.2, 1.0)  # admitted: before reading the shows
PICK_PAUSE = (0.3, 1.5)  # picking seats on the map, before each hold
PIN_PAUSE = (0.5, 2.0)  # typing the PIN, before the first payment
WRONG_PIN_PAUSE = (0.3, 1.0)  # after each WRONG_PIN answer
REFUND_PAUSE = (0.2, 1.0)  # after paying, before the refund
# A fan told "sold out" while seats are only held stays for returned seats, as real fans do
# ("cancellation tickets"): looks at the seat map again after each pause, for up to the hold time
# plus RETURNS_EXTRA_S (an abandoned hold comes back at its end), then leaves.
RETURNS_PAUSE = (2.0, 4.0)
RETURNS_EXTRA_S = 15.0
