"""Simulated cross-border e-commerce traffic with labelled violations.

:func:`simulate` yields filings (house declarations as marketplaces, posts
and brokers file them, then the carriers' master filings) and one truth row
per house declaration saying which violations, if any, it carries. Same
seed, same output: the only source of randomness is ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from clearway.declarations.filing_rules import filing_rules
from clearway.parties.screening import ListedParty
from clearway.simulate.world import (
    CARRIERS,
    DESTINATIONS,
    Consignee,
    Listing,
    Seller,
    World,
    build_world,
    load_restricted_names,
    pick_description,
    product_codes,
)

__all__ = ["VIOLATIONS", "SimulationConfig", "TruthRow", "simulate"]

VIOLATIONS: tuple[str, ...] = (
    "undervaluation",
    "misclassification",
    "split_shipment",
    "restricted_party",
    "counterfeit",
    "prohibited_goods",
    "missing_identifiers",
)
_RATE_TO = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86}
# Low-value thresholds by destination currency that split shipments dodge.
_THRESHOLD = {"EUR": 150.0, "GBP": 135.0, "USD": 800.0}
_LUXURY = {
    "Rolex": 40.0,
    "Louis Vuitton": 30.0,
    "Gucci": 25.0,
    "Chanel": 6.0,
    "Dior": 6.0,
    "Tiffany": 15.0,
    "Omega": 40.0,
    "Pandora": 4.0,
}
_MASS_PREMIUM = 2.5
_HOUSES_PER_MASTER = 150


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    days: int = 7
    per_day: int = 1000
    seed: int = 0
    start: date = date(2026, 11, 2)
    # Restricted names are drawn from this OFAC SDN CSV, else from these
    # list entries (the active lists), else from the bundled SDN snapshot.
    restricted_list: Path | None = None
    restricted_parties: tuple[ListedParty, ...] = ()


@dataclass(frozen=True, slots=True)
class TruthRow:
    declaration_id: str
    filer_id: str
    day: str
    violations: tuple[str, ...]
    detail: str


def _brand_premium(brand: str) -> float:
    if not brand:
        return 1.0
    return _LUXURY.get(brand, _MASS_PREMIUM)


def _s10(rng: random.Random, country: str) -> str:
    """A UPU S10 item identifier with its check digit."""
    digits = [rng.randint(0, 9) for _ in range(8)]
    total = sum(d * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    check = 11 - total % 11
    check = 5 if check == 11 else 0 if check == 10 else check
    return f"L{rng.choice('ABCX')}{''.join(map(str, digits))}{check}{country}"


class _Day:
    """Everything generated for one day; masters are filed at its end."""

    def __init__(self, sim: _Simulation, day: date) -> None:
        self.sim = sim
        self.day = day
        self.open_masters: dict[tuple[str, str], dict[str, Any]] = {}
        self.masters: list[dict[str, Any]] = []

    def master_for(
        self, carrier: tuple[str, str, str, str], destination: str, origin: str, tracking: str
    ) -> str:
        key = (carrier[0], destination)
        master = self.open_masters.get(key)
        if master is None or len(master["house_refs"]) >= _HOUSES_PER_MASTER:
            self.sim.master_counter += 1
            n = self.sim.master_counter
            ref = (
                f"{origin}{destination}RCP{n:08d}"
                if carrier[3] == "postal"
                else f"{176 + CARRIERS.index(carrier)}-{n:08d}"
            )
            master = {
                "kind": "master",
                "master_ref": ref,
                "filer": {"id": carrier[0], "role": carrier[2], "name": carrier[1]},
                "destination_country": destination,
                "filed_at": self.at(hours=20).isoformat(),
                "mode": carrier[3],
                "carrier_name": carrier[1],
                "departure_country": origin,
                "arrival_office": f"{destination}HUB",
                "expected_arrival": self.at(hours=48).isoformat(),
                "house_refs": [],
            }
            self.open_masters[key] = master
            self.masters.append(master)
        # Carriers sometimes leave a house off the manifest: the link stays
        # incomplete until it is amended.
        if self.sim.rng.random() >= 0.01:
            master["house_refs"].append(tracking)
        return str(master["master_ref"])

    def at(self, hours: float) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC) + timedelta(
            hours=hours
        )

    def closing_masters(self) -> list[dict[str, Any]]:
        # One manifest in a hundred is never filed: its houses show the
        # master part as missing.
        return [m for m in self.masters if m["house_refs"] and self.sim.rng.random() >= 0.01]


class _Simulation:
    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        # Restricted names are drawn and picked with a generator of their
        # own; the main one draws as it did before they came from the lists
        # (among ``draws_before``), so the rest of the traffic is the
        # same whichever list the names come from.
        self.restricted_rng = random.Random(f"restricted-{config.seed}")
        restricted, self.draws_before = load_restricted_names(
            self.restricted_rng, config.restricted_list, config.restricted_parties
        )
        self.world: World = build_world(
            self.rng,
            n_sellers=max(500, min(5000, config.per_day)),
            n_consignees=max(2000, config.per_day * 5),
            restricted=restricted,
        )
        self.counter = 0
        self.master_counter = 0
        self.vat = _vat_rates()
        dest, cur, share = zip(*DESTINATIONS, strict=True)
        self.destinations = list(zip(dest, cur, strict=True))
        self.destination_w = list(share)

    def pick_seller(self) -> Seller:
        return self.rng.choices(self.world.sellers, cum_weights=self.world.seller_cum_weights)[0]

    def _vat_at_sale(
        self, house: dict[str, Any], seller: Seller, destination: str, currency: str, total: float
    ) -> None:
        """VAT collected at checkout, as IOSS sellers (EU, up to EUR 150) and
        every seller shipping to the UK (up to GBP 135) must."""
        rate = self.vat.get(destination)
        if rate is None:
            return
        eu_ioss = destination != "GB" and seller.ioss and total * _EUR_PER[currency] <= 150
        uk = destination == "GB" and currency == "GBP" and total <= 135
        if not (eu_ioss or uk):
            return
        if eu_ioss:
            house["seller"]["ioss"] = seller.ioss
        house["vat_collected"] = f"{total * rate:.2f}"
        house["duty_paid_at_sale"] = False

    def house(
        self,
        day: _Day,
        seller: Seller,
        consignee: Consignee,
        currency: str,
        violations: list[str],
        split_value: float | None = None,
    ) -> tuple[dict[str, Any], TruthRow]:
        rng = self.rng
        self.counter += 1
        if consignee.country in _EU and day.day >= _IDS_REQUIRED_FROM:
            # An EU filing without merchant and maker product ids is refused
            # from 2026-11-01 (Delegated Reg. (EU) 2026/1022): the evasion
            # cannot reach the EU any more. No random draw: the rest of the
            # traffic is unchanged.
            violations = [v for v in violations if v != "missing_identifiers"]
        rate = _RATE_TO[currency]
        detail: list[str] = []
        listings: list[Listing] = rng.sample(
            seller.listings, k=min(len(seller.listings), rng.choice((1, 1, 1, 2, 3)))
        )
        items: list[dict[str, Any]] = []
        for listing in listings:
            quantity = rng.choice((1, 1, 1, 1, 2, 3))
            value = listing.price_eur * _brand_premium(listing.brand) * rate
            items.append(
                {
                    "description": listing.description,
                    "quantity": quantity,
                    "unit_value": round(value, 2),
                    "currency": currency,
                    "hs_code": listing.hs_code,
                    "gtin": listing.gtin,
                    "sku": listing.sku,
                    "mpn": "MFR" + listing.sku[3:],
                    "brand": listing.brand or None,
                    "origin_country": seller.country,
                    "net_weight_kg": listing.kg,
                }
            )
        cat = self.world.catalogue
        if "counterfeit" in violations:
            candidates = [p for p in cat.products if any(b in _LUXURY for b in p.get("brands", []))]
            product = rng.choice(candidates)
            brand = rng.choice([b for b in product["brands"] if b in _LUXURY])
            template, hs_code = pick_description(rng, product)
            text = template.format(brand=brand, colour="black", size="M", material="leather")
            if brand not in text:
                text = f"{brand} {text}"
            items[0].update(
                description=" ".join(text.split()),
                brand=brand,
                hs_code=hs_code,
                gtin=None,
                unit_value=round(product["value"][0] * rng.uniform(0.6, 1.4) * rate, 2),
            )
            detail.append(f"{brand} at {items[0]['unit_value']} {currency}")
        if "prohibited_goods" in violations:
            bad = rng.choice(cat.prohibited)
            items[0].update(
                description=rng.choice(bad["descriptions"]),
                hs_code=rng.choice(bad["declared_hs"]),
                gtin=None,
                brand=None,
                unit_value=round(bad["value"][0] * rng.uniform(0.6, 1.4) * rate, 2),
                net_weight_kg=round(bad["kg"][0] * rng.uniform(0.7, 1.3), 3),
            )
            detail.append(f"{bad['key']} (true HS {bad['true_hs']})")
        if "misclassification" in violations:
            item = rng.choice(items)
            # Another heading altogether: a code of the same heading is a
            # subheading slip, not the evasion this violation stands for.
            heading = item["hs_code"][:4]
            other = rng.choice(
                [p for p in cat.products if all(c[:4] != heading for c in product_codes(p))]
            )
            wrong = rng.choice(product_codes(other))
            detail.append(f"declared {wrong} for {item['hs_code']}")
            item["hs_code"] = wrong
        if "undervaluation" in violations:
            factor = rng.uniform(0.05, 0.3)
            for item in items:
                item["unit_value"] = round(max(0.5, item["unit_value"] * factor), 2)
            detail.append(f"declared at {factor:.0%} of value")
        if split_value is not None:
            for item in items:
                item["quantity"] = 1
                item["unit_value"] = round(split_value / len(items), 2)
        seller_doc: dict[str, Any] = {
            "name": seller.name,
            "country": seller.country,
            "address": {"street": seller.street, "city": seller.city, "country": seller.country},
            "marketplace_seller_id": seller.marketplace_seller_id,
            "tax_id": seller.tax_id,
        }
        if "restricted_party" in violations:
            rng.randrange(self.draws_before)
            name, country = self.restricted_rng.choice(self.world.restricted)
            seller_doc.update(
                name=name, country=country, address={"city": "Unknown", "country": country}
            )
            detail.append(f"seller {name}")
        consignee_doc: dict[str, Any] = {
            "name": consignee.name,
            "country": consignee.country,
            "address": {
                "street": consignee.street,
                "city": consignee.city,
                "postcode": consignee.postcode,
                "country": consignee.country,
            },
            "email_sha256": consignee.email_sha256,
        }
        if "missing_identifiers" in violations:
            for item in items:
                item["gtin"] = item["sku"] = item["mpn"] = None
            seller_doc.update(marketplace_seller_id=None, tax_id=None, address=None)
            consignee_doc["email_sha256"] = None
        carrier = rng.choices(CARRIERS, (3, 3, 2, 1, 3, 2))[0]
        origin = seller.country
        tracking = (
            _s10(rng, seller.country)
            if carrier[3] == "postal"
            else f"{rng.randrange(10**9, 10**10)}"
        )
        market = seller.marketplace
        if rng.random() < 0.75:
            filer = {"id": market[0], "role": "marketplace", "name": market[1]}
        elif rng.random() < 0.8:
            filer = {"id": carrier[0], "role": carrier[2], "name": carrier[1]}
        else:
            filer = {"id": "brk-clearfast", "role": "broker", "name": "ClearFast Brokerage"}
        declaration_id = f"{filer['id'].split('-')[0].upper()}{self.counter:09d}"
        destination = consignee.country
        total = round(sum(i["unit_value"] * i["quantity"] for i in items), 2)
        house = {
            "declaration_id": declaration_id,
            "filer": filer,
            "destination_country": destination,
            "filed_at": day.at(hours=rng.uniform(0, 20)).isoformat(),
            "transport": {
                "mode": carrier[3],
                "tracking_number": tracking,
                "master_ref": day.master_for(carrier, destination, seller.country, tracking),
                "departure_country": "HK" if origin == "CN" and rng.random() < 0.2 else origin,
                "arrival_office": f"{destination}HUB",
                "expected_arrival": day.at(hours=48).isoformat(),
            },
            "seller": seller_doc,
            "marketplace": {
                "name": market[1],
                "id": market[0],
                "listing_url": f"https://{market[2]}/item/{items[0]['sku'] or 'x'}",
            },
            "consignee": consignee_doc,
            "items": items,
            "totals": {
                "value": f"{total:.2f}",
                "currency": currency,
                "gross_weight_kg": round(
                    sum((i["net_weight_kg"] or 0.1) * i["quantity"] for i in items) * 1.1 + 0.05, 3
                ),
            },
            "incoterm": "DDP" if currency != "USD" and rng.random() < 0.5 else "DAP",
            "duty_paid_at_sale": currency != "USD" and rng.random() < 0.5,
        }
        self._vat_at_sale(house, seller, destination, currency, total)
        _rules_2026(house, items, destination, currency, total)
        truth = TruthRow(
            declaration_id, filer["id"], day.day.isoformat(), tuple(violations), "; ".join(detail)
        )
        return _prune(house), truth


_EUR_PER = {"EUR": 1.0, "USD": 1 / 1.15, "GBP": 1 / 0.87}
_EU = frozenset(filing_rules().eu_destinations)
_IDS_REQUIRED_FROM = filing_rules().product_identifiers.mandatory_from
# The national nomenclature a destination's filers use, its line length and
# the edition they cite.
_NATIONAL = {"US": ("US-HTS", 10, "2026 Basic Edition")} | dict.fromkeys(_EU, ("EU-CN", 8, "2026"))


def _rules_2026(
    house: dict[str, Any],
    items: list[dict[str, Any]],
    destination: str,
    currency: str,
    total: float,
) -> None:
    """The fields the 2026 rules added: national lines (US, EU), the EU
    VAT-regime code. No random draws: the rest of the traffic is unchanged."""
    national = _NATIONAL.get(destination)
    if national is not None:
        name, digits, version = national
        for item in items:
            if item.get("hs_code") and len(item["hs_code"]) <= digits:
                code = (item["hs_code"] + "0" * digits)[:digits]
                item["national_line"] = {"code": code, "nomenclature": name, "version": version}
    if destination in _EU:
        if house["seller"].get("ioss"):
            house["vat_regime"] = "F48"
        elif total * _EUR_PER[currency] <= 150 and house["filer"]["role"] in ("post", "carrier"):
            house["vat_regime"] = "F49"
        else:
            house["vat_regime"] = "F53"


def _vat_rates() -> dict[str, float]:
    from clearway.duty import load_book

    return dict(load_book().rates.vat)


def _prune(value: Any) -> Any:
    """Drop None values so absent fields are absent, as filers send them."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


# Rates per declaration; dodgy sellers undervalue far more often.
_RATES = {
    "undervaluation": 0.02,
    "misclassification": 0.025,
    "restricted_party": 0.003,
    "counterfeit": 0.01,
    "prohibited_goods": 0.003,
    "missing_identifiers": 0.04,
}
_SPLIT_RATE = 0.004


def simulate(config: SimulationConfig) -> Iterator[tuple[dict[str, Any], TruthRow | None]]:
    """Yield ``(filing, truth)`` pairs; master filings have no truth row."""
    sim = _Simulation(config)
    rng = sim.rng
    for offset in range(config.days):
        day = _Day(sim, config.start + timedelta(days=offset))
        produced = 0
        while produced < config.per_day:
            seller = sim.pick_seller()
            destination, currency = rng.choices(sim.destinations, sim.destination_w)[0]
            if currency == "EUR" and rng.random() < 0.2:
                currency = "USD"
            consignee = rng.choice(sim.world.consignees[destination])
            if rng.random() < _SPLIT_RATE and config.per_day - produced >= 3:
                parts = rng.randint(3, 4)
                threshold = _THRESHOLD[currency]
                for _ in range(parts):
                    value = threshold * rng.uniform(0.55, 0.95)
                    yield sim.house(day, seller, consignee, currency, ["split_shipment"], value)
                produced += parts
                continue
            violations = [
                v
                for v, rate in _RATES.items()
                if rng.random() < (rate * 6 if seller.dodgy and v == "undervaluation" else rate)
            ]
            yield sim.house(day, seller, consignee, currency, violations)
            produced += 1
        for master in day.closing_masters():
            yield master, None
