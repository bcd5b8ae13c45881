"""The demo catalogue, and the orders of this process in memory (the portal is a demo: memory is the database)."""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clients.dutch import LOCAL_TIME, seeded_rng

RECEIVED = "Ontvangen"
MAX_QUANTITY = 20
POSTCODE = re.compile(r"^\s*(\d{4})\s*([A-Za-z]{2})\s*$")


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    pack: str


CATALOGUE = [
    Product("INC-110", "Inlegverband maxi", "pak van 28 stuks"),
    Product("INC-220", "Broekje voor incontinentie, maat M", "pak van 14 stuks"),
    Product("WND-310", "Schuimverband 10 x 10 cm", "doos van 10 stuks"),
    Product("KAT-412", "Urinekatheter CH12 voor eenmalig gebruik", "doos van 30 stuks"),
    Product("STO-530", "Stomazakje eendelig, gesloten", "doos van 30 stuks"),
    Product("HAN-610", "Nitril handschoenen, maat M", "doos van 100 stuks"),
    Product("DES-720", "Huiddesinfectie alcohol 70%", "flacon van 250 ml"),
    Product("VOE-840", "Sondevoeding standaard 500 ml", "doos van 12 flessen"),
]
STREETS = ["Lindelaan", "Kastanjestraat", "Molenweg", "Dorpsstraat", "Beukenhof", "Havenkade"]
CITIES = [("3511", "Utrecht"), ("6811", "Arnhem"), ("5611", "Eindhoven"), ("9711", "Groningen"), ("2011", "Haarlem")]


@dataclass(frozen=True)
class Address:
    street: str
    postcode: str
    city: str

    def __str__(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"


@dataclass
class Order:
    number: str
    placed_at: datetime
    for_whom: str
    lines: list[tuple[Product, int]]
    address: Address
    status: str = RECEIVED


@dataclass
class Account:
    """What the portal keeps for one signed-in person (by sub)."""

    address: Address
    orders: list[Order] = field(default_factory=list)  # newest first



def parse_address(street: str, postcode: str, city: str) -> tuple[Address | None, str | None]:
    """A delivery address from the form, or the error to show (in Dutch)."""
    street, city = " ".join(street.split())[:100], " ".join(city.split())[:60]
    if not street or not re.search(r"\d", street):
        return None, "Vul bij 'Straat en huisnummer' de straat met het huisnummer in."
    match = POSTCODE.match(postcode or "")
    if not match:
        return None, "Vul een geldige postcode in, zoals 1234 AB."
    if not city:
        return None, "Vul de plaats in."
    return Address(street, f"{match.group(1)} {match.group(2).upper()}", city), None


def parse_lines(quantities: dict[str, str]) -> tuple[list[tuple[Product, int]], str | None]:
    """Order lines from {product code: quantity typed}, or the error to show; empty fields count as 0."""
    lines = []
    for product in CATALOGUE:
        typed = (quantities.get(product.code) or "").strip()
        if not typed:
            continue
        if not typed.isdigit() or int(typed) > MAX_QUANTITY:
            return [], f"Vul bij '{product.name}' een aantal in van 0 tot en met {MAX_QUANTITY}."
        if int(typed):
            lines.append((product, int(typed)))
    if not lines:
        return [], "Vul bij minstens één product een aantal in."
    return lines, None


class Store:
    """Every person's orders of this process, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._numbers = itertools.count(10001)

    def _account(self, sub: str, history: bool) -> Account:
        if sub not in self._accounts:
            rng = seeded_rng("ordering", sub)
            prefix, city = rng.choice(CITIES)
            address = Address(f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
                              f"{prefix} {rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEHKLMNPRST')}", city)
            account = Account(address)
            if history:  # an end user arrives with a few delivered orders to reorder from
                now = datetime.now(LOCAL_TIME)
                for weeks in (3, 9):
                    lines = [(p, rng.randint(1, 4)) for p in sorted(rng.sample(CATALOGUE[:5], 2), key=lambda p: p.code)]
                    account.orders.append(Order(f"B-{next(self._numbers)}", now - timedelta(weeks=weeks), "Uzelf",
                                                lines, address, status="Geleverd"))
            self._accounts[sub] = account
        return self._accounts[sub]

    def account(self, sub: str, history: bool = True) -> Account:
        with self._lock:
            return self._account(sub, history)

    def place(self, sub: str, for_whom: str, lines: list[tuple[Product, int]], address: Address) -> Order:
        with self._lock:
            order = Order(f"B-{next(self._numbers)}", datetime.now(LOCAL_TIME), for_whom, lines, address)
            self._account(sub, history=False).orders.insert(0, order)
            return order

    def reorder(self, sub: str, number: str) -> Order | None:
        """The same products to the same address again, as a new order; None when it is not theirs."""
        with self._lock:
            account = self._account(sub, history=True)
            old = next((o for o in account.orders if o.number == number), None)
            if old is None:
                return None
            order = Order(f"B-{next(self._numbers)}", datetime.now(LOCAL_TIME), old.for_whom, list(old.lines),
                          old.address)
            account.orders.insert(0, order)
            return order

