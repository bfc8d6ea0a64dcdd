import statistics
from io import StringIO

import pytest

from concerts.models import ShowSeat, ShowSeatStatus
from loadtest.booking_bench import bench, main, report
from points.models import LedgerEntry
from reservations.models import Reservation, ReservationStatus


@pytest.mark.django_db(transaction=True)  # the services commit, and their after-commit work runs
def test_booking_bench_times_each_call_and_counts_its_statements():
    costs, reference_ms = bench(fans=8, warm_up=1)

    by_name = {cost.name: cost for cost in costs}
    calls = ["hold", "hold refused", "payment"]
    assert list(by_name) == calls + [f"API {call}" for call in calls]
    # In each part: fans 0-7 hold, are refused two seats and pay; the first is the warm-up, the
    # last four fans' calls are counted (three for Python function calls, one for statements).
    assert all(len(cost.cpu_s) == 3 and all(cpu > 0 for cpu in cost.cpu_s) for cost in costs)
    for prefix in ("", "API "):
        assert 0 < by_name[f"{prefix}hold refused"].statements < by_name[f"{prefix}hold"].statements
        assert by_name[f"{prefix}payment"].statements > 0
        assert 0 < by_name[f"{prefix}hold refused"].python_calls < by_name[f"{prefix}hold"].python_calls
    assert by_name["API payment"].python_calls > by_name["payment"].python_calls  # the request is Python too
    assert reference_ms > 0
    # It did what it says: 16 fans paid two seats each, and the refused holds took nothing.
    assert ShowSeat.objects.filter(status=ShowSeatStatus.SOLD).count() == 32
    assert not ShowSeat.objects.exclude(status__in=[ShowSeatStatus.SOLD, ShowSeatStatus.AVAILABLE]).exists()
    assert Reservation.objects.filter(status=ReservationStatus.CONFIRMED).count() == 16
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).count() == 16

    out = StringIO()
    report(costs, reference_ms, out)
    payment_row = next(line for line in out.getvalue().splitlines() if line.startswith("API payment"))
    n, p50, _, statements, python_calls, ratio = payment_row.split()[2:]
    payment = by_name["API payment"]
    assert (int(n), int(statements), int(python_calls)) == (3, payment.statements, payment.python_calls)
    assert float(p50) == pytest.approx(statistics.median(payment.cpu_s) * 1000, abs=0.01)
    assert float(ratio) == pytest.approx(float(p50) / reference_ms, abs=0.01)


def test_booking_bench_refuses_too_few_fans():
    with pytest.raises(SystemExit):
        main(["--fans", "4"])
