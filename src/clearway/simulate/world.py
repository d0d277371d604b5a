"""The simulated world: marketplaces, carriers, sellers with their listings,
and consignees. Built once per seed, so the same seed gives the same traffic.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml

from clearway.errors import ConfigurationError
from clearway.parties.screening import ListedParty
from clearway.reference import is_hs_subheading

__all__ = [
    "Catalogue",
    "Consignee",
    "Listing",
    "Seller",
    "World",
    "build_world",
    "catalogue",
    "pick_description",
    "product_codes",
]

# Origin mix of cross-border parcels: a few countries send most of them.
ORIGINS: tuple[tuple[str, float], ...] = (
    ("CN", 0.62),
    ("HK", 0.08),
    ("US", 0.05),
    ("GB", 0.04),
    ("TR", 0.04),
    ("VN", 0.03),
    ("IN", 0.03),
    ("KR", 0.03),
    ("JP", 0.02),
    ("DE", 0.02),
    ("TH", 0.02),
    ("PK", 0.02),
)
DESTINATIONS: tuple[tuple[str, str, float], ...] = (
    ("US", "USD", 0.42),
    ("DE", "EUR", 0.14),
    ("FR", "EUR", 0.10),
    ("NL", "EUR", 0.06),
    ("IT", "EUR", 0.06),
    ("ES", "EUR", 0.05),
    ("GB", "GBP", 0.17),
)
MARKETPLACES: tuple[tuple[str, str, str], ...] = (
    ("mkt-shopzilla", "Shopzilla", "shopzilla.example"),
    ("mkt-bazaar", "Bazaar Global", "bazaar-global.example"),
    ("mkt-tradewind", "Tradewind", "tradewind.example"),
    ("mkt-quickcart", "QuickCart", "quickcart.example"),
    ("mkt-marketly", "Marketly", "marketly.example"),
    ("mkt-dealhub", "DealHub", "dealhub.example"),
)
# (filer id, name, role, mode)
CARRIERS: tuple[tuple[str, str, str, str], ...] = (
    ("car-skyline", "Skyline Express", "carrier", "air"),
    ("car-pacific", "Pacific Air Parcel", "carrier", "air"),
    ("car-swift", "Swift Freight", "carrier", "air"),
    ("car-overland", "Overland Road Cargo", "carrier", "road"),
    ("post-origin", "Origin Post", "post", "postal"),
    ("post-eastern", "Eastern Mail", "post", "postal"),
)
_COLOURS = ("black", "white", "red", "blue", "green", "pink", "grey", "beige")
_SIZES = ("S", "M", "L", "XL", "38", "40", "42", "44")
_MATERIALS = ("cotton", "polyester", "leather", "silk", "linen", "wool")
_FIRST = (
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Katrin",
    "Liam",
    "Maria",
    "Noah",
    "Olivia",
    "Paul",
    "Rosa",
    "Sam",
    "Tara",
    "Yusuf",
)
_LAST = (
    "Schmidt",
    "Martin",
    "Rossi",
    "Garcia",
    "Smith",
    "Jansen",
    "Muller",
    "Dubois",
    "Bianchi",
    "Lopez",
    "Brown",
    "de Vries",
    "Weber",
    "Moreau",
    "Ricci",
    "Taylor",
)
_STREETS = (
    "Main Street",
    "Hauptstrasse",
    "Rue de la Paix",
    "Via Roma",
    "Calle Mayor",
    "Kerkstraat",
    "High Street",
    "Oak Avenue",
    "Bahnhofstrasse",
    "Elm Road",
)
_CITIES = {
    "US": ("Chicago", "Austin", "Denver"),
    "DE": ("Berlin", "Hamburg", "Munich"),
    "FR": ("Paris", "Lyon", "Lille"),
    "NL": ("Amsterdam", "Utrecht", "Delft"),
    "IT": ("Milan", "Rome", "Turin"),
    "ES": ("Madrid", "Seville", "Valencia"),
    "GB": ("London", "Leeds", "Bristol"),
}
_SELLER_WORDS = (
    "Sunshine",
    "Golden",
    "Bright",
    "Happy",
    "Lucky",
    "Star",
    "Dragon",
    "Ocean",
    "Harmony",
    "Prime",
    "Unity",
    "Galaxy",
    "Lotus",
    "Phoenix",
    "Jade",
    "Summit",
)
_SELLER_TRADES = (
    "Trading",
    "Electronics",
    "Fashion",
    "Technology",
    "Import Export",
    "Crafts",
    "Apparel",
    "Commerce",
    "Supply",
    "Home Goods",
)
_SELLER_SUFFIX = ("Co., Ltd", "Limited", "LLC", "Store", "Shop", "Inc")
_ORIGIN_CITIES = {
    "CN": ("Shenzhen", "Yiwu", "Guangzhou"),
    "HK": ("Kowloon",),
    "US": ("Los Angeles",),
    "GB": ("Manchester",),
    "TR": ("Istanbul",),
    "VN": ("Hanoi",),
    "IN": ("Mumbai",),
    "KR": ("Seoul",),
    "JP": ("Osaka",),
    "DE": ("Cologne",),
    "TH": ("Bangkok",),
    "PK": ("Lahore",),
}


@dataclass(frozen=True, slots=True)
class Catalogue:
    products: list[dict[str, Any]]
    prohibited: list[dict[str, Any]]
    restricted: list[tuple[str, str]]


def product_codes(product: dict[str, Any]) -> list[str]:
    """Every code goods of this type are filed under."""
    paired = [d["hs"] for d in product.get("descriptions", []) if isinstance(d, dict)]
    return list(product.get("hs", [])) + paired


def pick_description(rng: random.Random, product: dict[str, Any]) -> tuple[str, str]:
    """A description template and the code it is filed under: its own code
    when the template names one, else any of the type's codes."""
    choice = rng.choice(product["descriptions"])
    if isinstance(choice, dict):
        return str(choice["text"]), str(choice["hs"])
    return str(choice), str(rng.choice(product["hs"]))


@cache
def catalogue() -> Catalogue:
    """The product types, prohibited goods and fallback restricted names."""
    source = "simulate/data/products.yaml"
    data = yaml.safe_load(resources.files("clearway").joinpath(source).read_text())
    for section in ("products", "prohibited"):
        for entry in data[section]:
            codes = product_codes(entry) + entry.get("declared_hs", [])
            codes += [entry["true_hs"]] if "true_hs" in entry else []
            for code in codes:
                if not is_hs_subheading(code):
                    raise ConfigurationError(
                        f"{source}: {section}.{entry['key']}.hs must list HS 2022 "
                        f"subheadings. Got {code!r}."
                    )
    return Catalogue(
        data["products"],
        data["prohibited"],
        [(name, country) for name, country in data["restricted_parties"]],
    )


def load_restricted_names(
    rng: random.Random, path: Path | None, entries: Sequence[ListedParty] = ()
) -> tuple[list[tuple[str, str]], int]:
    """Restricted names as filers write them (see
    :mod:`clearway.simulate.restricted`), with a listed country, drawn from
    an OFAC SDN-format list at ``path``, else from ``entries`` (the active
    lists), else from the OFAC SDN snapshot shipped with clearway; and how
    many names the simulator drew among before (the entities of ``path``,
    else its five fallback names), so that the traffic draws as it did."""
    from clearway.parties.lists import bundled_list, read_ofac_csv
    from clearway.simulate.restricted import restricted_names

    before = len(catalogue().restricted)
    if path is not None:
        entries = read_ofac_csv(path, "OFAC SDN", None).entries
        before = sum(1 for e in entries if e.kind == "entity")
    elif not entries:
        entries = bundled_list().entries
    names = [(name, country) for name, country, _ in restricted_names(rng, entries)]
    if not names:
        raise ConfigurationError(f"{path or 'the screening lists'}: no entities or individuals.")
    return names, max(1, before)


def gtin13(rng: random.Random) -> str:
    body = f"{rng.randrange(10**11, 10**12):012d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


@dataclass(slots=True)
class Listing:
    product: dict[str, Any]
    description: str
    hs_code: str
    brand: str
    gtin: str | None
    sku: str
    price_eur: float
    kg: float


@dataclass(slots=True)
class Seller:
    id: str
    name: str
    country: str
    street: str | None
    city: str
    marketplace: tuple[str, str, str]
    marketplace_seller_id: str | None
    tax_id: str | None
    ioss: str | None = None
    listings: list[Listing] = field(default_factory=list)
    weight: float = 1.0
    dodgy: bool = False


@dataclass(frozen=True, slots=True)
class Consignee:
    name: str
    street: str
    city: str
    postcode: str
    country: str
    email_sha256: str | None


@dataclass(slots=True)
class World:
    sellers: list[Seller]
    seller_cum_weights: list[float]
    consignees: dict[str, list[Consignee]]
    catalogue: Catalogue
    restricted: list[tuple[str, str]]


def _fill(template: str, rng: random.Random, brand: str) -> str:
    text = template.format(
        brand=brand,
        colour=rng.choice(_COLOURS),
        size=rng.choice(_SIZES),
        material=rng.choice(_MATERIALS),
    )
    return " ".join(text.split())


def _listing(rng: random.Random, product: dict[str, Any], seller_no: int, n: int) -> Listing:
    brand = rng.choice(product.get("brands", [""]))
    median, sigma = product["value"]
    kg_median, kg_sigma = product["kg"]
    template, hs_code = pick_description(rng, product)
    return Listing(
        product=product,
        description=_fill(template, rng, brand),
        hs_code=hs_code,
        brand=brand,
        gtin=gtin13(rng) if rng.random() < 0.7 else None,
        sku=f"SKU-{seller_no:05d}-{n:03d}",
        price_eur=round(rng.lognormvariate(0, sigma) * median, 2),
        kg=round(max(0.01, rng.lognormvariate(0, kg_sigma) * kg_median), 3),
    )


def build_world(
    rng: random.Random,
    n_sellers: int,
    n_consignees: int,
    restricted: list[tuple[str, str]] | None = None,
) -> World:
    cat = catalogue()
    origins, origin_w = zip(*ORIGINS, strict=True)
    products = cat.products
    product_w = [p["weight"] for p in products]
    sellers: list[Seller] = []
    for n in range(n_sellers):
        country = rng.choices(origins, origin_w)[0]
        name = (
            f"{rng.choice(_ORIGIN_CITIES[country])} {rng.choice(_SELLER_WORDS)} "
            f"{rng.choice(_SELLER_TRADES)} {rng.choice(_SELLER_SUFFIX)}"
        )
        seller = Seller(
            id=f"S{n:05d}",
            name=name,
            country=country,
            street=f"{rng.randint(1, 999)} {rng.choice(('Industrial', 'Commerce', 'Trade'))} Road"
            if rng.random() < 0.75
            else None,
            city=rng.choice(_ORIGIN_CITIES[country]),
            marketplace=rng.choice(MARKETPLACES),
            marketplace_seller_id=f"MS{rng.randrange(10**7, 10**8)}"
            if rng.random() < 0.9
            else None,
            tax_id=f"{country}{rng.randrange(10**9, 10**10)}" if rng.random() < 0.5 else None,
            # A long tail: a few sellers ship most parcels.
            weight=rng.paretovariate(1.2),
            dodgy=rng.random() < 0.08,
            # About a third of sellers collect EU VAT at checkout under IOSS.
            ioss=f"IM{rng.randrange(10**9, 10**10):010d}" if rng.random() < 0.35 else None,
        )
        kinds = rng.choices(products, product_w, k=rng.randint(1, 3))
        seller.listings = [
            _listing(rng, rng.choice(kinds), n, k) for k in range(rng.randint(3, 15))
        ]
        sellers.append(seller)
    consignees: dict[str, list[Consignee]] = {}
    for country, _currency, _share in DESTINATIONS:
        pool = []
        for _ in range(max(50, n_consignees // len(DESTINATIONS))):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            pool.append(
                Consignee(
                    name=f"{first} {last}",
                    street=f"{rng.randint(1, 200)} {rng.choice(_STREETS)}",
                    city=rng.choice(_CITIES[country]),
                    postcode=f"{rng.randint(10000, 99999)}",
                    country=country,
                    email_sha256=f"{rng.getrandbits(256):064x}" if rng.random() < 0.6 else None,
                )
            )
        consignees[country] = pool
    return World(
        sellers,
        list(accumulate(s.weight for s in sellers)),
        consignees,
        cat,
        restricted or cat.restricted,
    )
