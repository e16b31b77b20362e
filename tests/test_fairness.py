"""The per-client query budget (arithmetic, with an injected clock) and client identity behind
reverse proxies (many spellings of forwarded-for headers, spoofing from untrusted peers)."""

from __future__ import annotations

import threading

import pytest

from coprod_kg.config import load_settings
from coprod_kg.errors import BadInput, TooManyRequests
from coprod_kg.fairness.budget import QueryBudget, waiting_for_worker
from coprod_kg.fairness.clients import (
    client_address,
    client_key,
    forwarded_for,
    parse_address,
    parse_networks,
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spend(budget: QueryBudget, key: str, seconds: float, clock: Clock) -> None:
    """One query of ``seconds`` (the clock moves by as much)."""
    ticket = budget.admit(key)
    with ticket.charge():
        clock.now += seconds
    budget.release(ticket)


def charge(budget: QueryBudget, key: str, seconds: float) -> None:
    """One query charged ``seconds`` (timed elsewhere; the clock does not move)."""
    ticket = budget.admit(key)
    budget.charge(ticket, seconds)
    budget.release(ticket)


def refused(budget: QueryBudget, key: str) -> TooManyRequests:
    with pytest.raises(TooManyRequests) as caught:
        budget.admit(key)
    return caught.value


# --- budget arithmetic -----------------------------------------------------------------------

def test_a_client_may_spend_its_budget_then_gets_429_with_the_wait() -> None:
    clock = Clock()
    budget = QueryBudget(60, 60, 5, clock=clock)  # 60 s per 60 s: refills 1 s per second
    charge(budget, "a", 50)
    assert budget.used("a") == pytest.approx(50)
    charge(budget, "a", 9.5)  # 59.5 used: still under the budget, so this one may start
    charge(budget, "a", 15.5)  # ... and overdraw: 75 used
    error = refused(budget, "a")
    assert error.status == 429
    assert error.retry_after == 16  # 15 s over, at 1 s/s: allowed once under, after 15 s
    assert "budget" in str(error)
    clock.now += 15
    refused(budget, "a")  # exactly at the budget is still spent
    clock.now += 0.5
    charge(budget, "a", 0)
    assert budget.used("a") == pytest.approx(59.5)


def test_query_time_refills_while_the_query_runs() -> None:
    clock = Clock()
    budget = QueryBudget(60, 60, 5, clock=clock)
    spend(budget, "a", 30, clock)
    spend(budget, "a", 40, clock)  # the first 30 s refilled during the second query
    assert budget.used("a") == pytest.approx(40)
    clock.now += 100
    assert budget.used("a") == 0  # never below zero: no credit saved up while idle


def test_retry_after_follows_the_refill_rate() -> None:
    clock = Clock()
    budget = QueryBudget(10, 60, 5, clock=clock)  # 10 s per minute: 1/6 s per second
    spend(budget, "a", 13, clock)
    # used 13 s, 3 over the budget: back under after 3 * 6 = 18 s
    assert refused(budget, "a").retry_after == 19
    clock.now += 17.9
    assert refused(budget, "a").retry_after == 1
    clock.now += 0.2
    budget.release(budget.admit("a"))


def test_failed_and_timed_out_queries_are_charged() -> None:
    clock = Clock()
    budget = QueryBudget(5, 60, 5, clock=clock)
    ticket = budget.admit("a")
    with pytest.raises(RuntimeError), ticket.charge():
        clock.now += 6
        raise RuntimeError("the query timed out")
    budget.release(ticket)
    assert budget.used("a") == pytest.approx(6)
    refused(budget, "a")


def test_waiting_for_a_worker_is_not_charged_when_the_pool_says_so() -> None:
    clock = Clock()
    budget = QueryBudget(5, 60, 5, clock=clock)
    ticket = budget.admit("a")
    with ticket.charge():
        clock.now += 1
        with waiting_for_worker():
            clock.now += 30  # queued behind someone else's queries
        clock.now += 2
    budget.release(ticket)
    assert budget.used("a") == pytest.approx(3)
    with waiting_for_worker():  # outside a charged block: nothing happens
        pass


def test_a_wait_that_fails_is_not_charged() -> None:
    clock = Clock()
    budget = QueryBudget(5, 60, 5, clock=clock)
    ticket = budget.admit("a")
    with pytest.raises(TimeoutError), ticket.charge(), waiting_for_worker():
        clock.now += 30
        raise TimeoutError("every query worker is busy")
    budget.release(ticket)
    assert budget.used("a") == 0


def test_other_clients_keep_their_own_budget() -> None:
    clock = Clock()
    budget = QueryBudget(5, 60, 5, clock=clock)
    spend(budget, "heavy", 30, clock)
    refused(budget, "heavy")
    spend(budget, "light", 0.01, clock)
    assert budget.used("light") == pytest.approx(0.01)
    assert budget.used("nobody") == 0


def test_concurrency_cap_counts_queries_in_flight() -> None:
    clock = Clock()
    budget = QueryBudget(60, 60, 3, clock=clock)
    tickets = [budget.admit("a") for _ in range(3)]
    error = refused(budget, "a")
    assert error.retry_after == 1
    assert "concurrent" in str(error)
    budget.release(budget.admit("b"))  # another client is not capped
    budget.release(tickets[0])
    budget.release(tickets[0])  # a second release of one ticket frees nothing more
    tickets[1:] += [budget.admit("a")]
    refused(budget, "a")
    for ticket in tickets[1:]:
        budget.release(ticket)
    assert [budget.admit("a") for _ in range(3)]


def test_zero_turns_each_limit_off() -> None:
    clock = Clock()
    no_budget = QueryBudget(0, 60, 2, clock=clock)
    spend(no_budget, "a", 1000, clock)
    no_budget.admit("a")
    no_budget.admit("a")
    refused(no_budget, "a")  # the cap still holds
    off = QueryBudget(0, 60, 0, clock=clock)
    assert not off.enabled
    for _ in range(100):
        off.admit("a")  # never refused, never tracked
    assert len(off) == 0


def test_idle_clients_are_forgotten_once_refilled() -> None:
    clock = Clock()
    budget = QueryBudget(60, 60, 5, clock=clock)
    for n in range(50):
        charge(budget, f"c{n}", 1)
    assert len(budget) == 50
    clock.now += 61  # every bucket is full again
    for n in range(50):
        budget.release(budget.admit(f"new{n}"))
    assert len(budget) <= 52  # the old ones went, two per admission


def test_tracked_clients_are_capped_and_in_flight_ones_kept() -> None:
    clock = Clock()
    budget = QueryBudget(60, 60, 5, max_clients=10, clock=clock)
    busy = budget.admit("busy")
    for n in range(1000):
        charge(budget, f"c{n}", 1)
    assert len(budget) <= 10
    assert busy.account is budget._accounts.get("busy")  # kept: its slot count survived
    budget.release(busy)


def test_thread_safety_of_the_counts() -> None:
    clock = Clock()
    budget = QueryBudget(10**9, 60, 10**6, clock=clock)

    def run() -> None:
        for _ in range(2000):
            ticket = budget.admit("a")
            budget.charge(ticket, 0.001)
            budget.release(ticket)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert budget.used("a") == pytest.approx(16.0)
    tickets = [budget.admit("a") for _ in range(3)]
    assert all(t.account is not None and t.account.in_flight == 3 for t in tickets)


# --- client identity --------------------------------------------------------------------------

PROXIES = parse_networks("10.0.0.0/8, 192.168.1.1, ::1, fd00::/8")


@pytest.mark.parametrize(("peer", "header", "lines", "client"), [
    # no proxy trusted: the peer, whatever the headers say
    ("203.0.113.5", "x-forwarded-for", ["1.2.3.4"], "203.0.113.5"),
    ("203.0.113.5", "x-forwarded-for", ["10.0.0.1"], "203.0.113.5"),
    ("203.0.113.5", "forwarded", ["for=1.2.3.4"], "203.0.113.5"),
    ("2001:db8::5", "x-forwarded-for", ["1.2.3.4"], "2001:db8::5"),
    # one trusted hop: the right-most entry
    ("10.0.0.2", "x-forwarded-for", ["198.51.100.7"], "198.51.100.7"),
    ("10.0.0.2", "x-forwarded-for", [" 198.51.100.7 "], "198.51.100.7"),
    ("10.0.0.2", "x-forwarded-for", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),
    ("10.0.0.2", "x-forwarded-for", ["6.6.6.6,198.51.100.7"], "198.51.100.7"),
    ("10.0.0.2", "x-forwarded-for", ["6.6.6.6", "198.51.100.7"], "198.51.100.7"),
    ("10.0.0.2", "x-forwarded-for", ["198.51.100.7:4711"], "198.51.100.7"),
    # several trusted hops are skipped, a spoofed left part is never read
    ("10.0.0.2", "x-forwarded-for", ["6.6.6.6, 198.51.100.7, 10.1.1.1, 192.168.1.1"],
     "198.51.100.7"),
    ("10.0.0.2", "x-forwarded-for", ["1.1.1.1, 10.9.9.9", "198.51.100.7, 10.0.0.3"],
     "198.51.100.7"),
    ("::1", "x-forwarded-for", ["2001:db8::7"], "2001:db8::7"),
    ("::1", "x-forwarded-for", ["[2001:db8::7]:443"], "2001:db8::7"),
    ("::1", "x-forwarded-for", ["::ffff:198.51.100.7"], "198.51.100.7"),
    ("::ffff:10.0.0.2", "x-forwarded-for", ["198.51.100.7"], "198.51.100.7"),
    ("fd00::1", "x-forwarded-for", ["2001:db8::7, fd12::1"], "2001:db8::7"),
    # every hop trusted: the left-most address
    ("10.0.0.2", "x-forwarded-for", ["10.5.5.5, 10.0.0.1"], "10.5.5.5"),
    # garbage: the walk stops, the last address reached is the client
    ("10.0.0.2", "x-forwarded-for", ["garbage"], "10.0.0.2"),
    ("10.0.0.2", "x-forwarded-for", [""], "10.0.0.2"),
    ("10.0.0.2", "x-forwarded-for", [",,,"], "10.0.0.2"),
    ("10.0.0.2", "x-forwarded-for", ["6.6.6.6, unknown"], "10.0.0.2"),
    ("10.0.0.2", "x-forwarded-for", ["6.6.6.6, 10.0.0.9, <script>"], "10.0.0.2"),
    ("10.0.0.2", "x-forwarded-for", ["6.6.6.6, not-an-ip, 10.0.0.9"], "10.0.0.9"),
    ("10.0.0.2", "x-forwarded-for", ["999.1.1.1"], "10.0.0.2"),
    ("10.0.0.2", "x-forwarded-for", ["[::1"], "10.0.0.2"),
    ("10.0.0.2", "x-forwarded-for", ["[2001:db8::1]x"], "10.0.0.2"),
    ("10.0.0.2", "x-forwarded-for", ["1.2.3.4/8"], "10.0.0.2"),
    ("10.0.0.2", "x-forwarded-for", [], "10.0.0.2"),
    # RFC 7239 Forwarded
    ("10.0.0.2", "forwarded", ["for=198.51.100.7"], "198.51.100.7"),
    ("10.0.0.2", "forwarded", ["For=198.51.100.7;proto=https;by=10.0.0.2"], "198.51.100.7"),
    ("10.0.0.2", "forwarded", ['for="198.51.100.7:8080"'], "198.51.100.7"),
    ("::1", "forwarded", ['for="[::1]:80"'], "::1"),
    ("::1", "forwarded", ['for="[2001:db8:cafe::17]:4711"'], "2001:db8:cafe::17"),
    ("10.0.0.2", "forwarded", ["for=6.6.6.6, for=198.51.100.7"], "198.51.100.7"),
    ("10.0.0.2", "forwarded", ["for=6.6.6.6", "for=198.51.100.7;proto=http"], "198.51.100.7"),
    ("10.0.0.2", "forwarded", ['for="6.6.6.6, x", for=198.51.100.7'], "198.51.100.7"),
    ("10.0.0.2", "forwarded", ["for=6.6.6.6, for=10.1.1.1"], "6.6.6.6"),
    ("10.0.0.2", "forwarded", ["for=unknown"], "10.0.0.2"),
    ("10.0.0.2", "forwarded", ["for=_hidden"], "10.0.0.2"),
    ("10.0.0.2", "forwarded", ["proto=https"], "10.0.0.2"),
    ("10.0.0.2", "forwarded", ["for=6.6.6.6, proto=https"], "10.0.0.2"),
    ("10.0.0.2", "forwarded", ['for="\\"]'], "10.0.0.2"),
    # a peer that is not an address (a test client, a unix socket) is its own key
    ("testclient", "x-forwarded-for", ["1.2.3.4"], "testclient"),
    (None, "x-forwarded-for", ["1.2.3.4"], "unknown"),
])
def test_client_address(peer: str | None, header: str, lines: list[str], client: str) -> None:
    assert client_address(peer, forwarded_for(header, lines), PROXIES) == client


def test_the_other_header_is_never_read() -> None:
    """A client can send the header the proxy does not write through the proxy untouched."""
    spoofed = forwarded_for("forwarded", ["for=6.6.6.6"])  # what a client sent
    real = forwarded_for("x-forwarded-for", [])  # the proxy writes XFF only
    assert client_address("10.0.0.2", real, PROXIES) == "10.0.0.2"
    assert spoofed == ["6.6.6.6"]


def test_nobody_is_trusted_by_default() -> None:
    trusted = parse_networks(load_settings({}).trusted_proxies)
    assert trusted == ()
    for peer in ("127.0.0.1", "::1", "10.0.0.2"):
        assert client_address(peer, ["198.51.100.7"], trusted) == peer


@pytest.mark.parametrize(("text", "parsed"), [
    ("1.2.3.4", "1.2.3.4"), ('"1.2.3.4"', "1.2.3.4"), ("1.2.3.4:1", "1.2.3.4"),
    ("[::1]", "::1"), ("[::1]:80", "::1"), ("fe80::1%eth0", "fe80::1"),
    ("::ffff:1.2.3.4", "1.2.3.4"), ("unknown", None), ("", None), ("1.2.3", None),
    ("1.2.3.4:80:90", None), ("[1.2.3.4]", "1.2.3.4"), ("[]", None), ("a:b", None),
])
def test_parse_address(text: str, parsed: str | None) -> None:
    address = parse_address(text)
    assert (None if address is None else str(address)) == parsed


def test_keys_group_ipv6_by_64() -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("198.51.100.7") == "198.51.100.7"
    assert client_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert client_key("testclient") == "testclient"


@pytest.mark.parametrize("env", [
    {"COPROD_TRUSTED_PROXIES": "10.0.0.0/33"}, {"COPROD_TRUSTED_PROXIES": "nginx"},
    {"COPROD_FORWARDED_HEADER": "x-real-ip"}, {"COPROD_CLIENT_WINDOW": "0"},
    {"COPROD_CLIENT_QUERY_SECONDS": "-1"}, {"COPROD_CLIENT_CONCURRENCY": "-2"},
])
def test_bad_fairness_settings_are_refused_at_start(env: dict[str, str]) -> None:
    with pytest.raises(BadInput):
        load_settings(env)


def test_fairness_settings_are_read() -> None:
    settings = load_settings({"COPROD_CLIENT_QUERY_SECONDS": "5", "COPROD_CLIENT_WINDOW": "10",
                              "COPROD_CLIENT_CONCURRENCY": "2",
                              "COPROD_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
                              "COPROD_FORWARDED_HEADER": "Forwarded"})
    assert (settings.client_query_seconds, settings.client_window,
            settings.client_concurrency) == (5.0, 10.0, 2)
    assert len(parse_networks(settings.trusted_proxies)) == 2
