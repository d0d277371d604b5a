"""The declaration data model: a house-level e-commerce consignment, and the
master-level filing a carrier or post makes for a flight, voyage or receptacle.

Field names and their mapping to EU ICS2 ENS, US Type 86 / Section 321 and
UPU ITMATT are in ``docs/data-model.md``. Field-level rules raise
``PydanticCustomError`` with a stable code so that :mod:`.validation` can
report every problem at once with the field path, the rule and the value.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from clearway.errors import format_value

__all__ = [
    "NOT_A_BOOLEAN",
    "NOT_A_NUMBER",
    "Address",
    "Consignee",
    "CountryCode",
    "CurrencyCode",
    "Declaration",
    "Filer",
    "FilerRole",
    "Incoterm",
    "Item",
    "Marketplace",
    "MasterFiling",
    "Money",
    "NationalLine",
    "Seller",
    "Totals",
    "Transport",
    "TransportMode",
    "totals_mismatch",
]


def _not_a_boolean(value: Any) -> Any:
    # pydantic's lax mode reads true as 1 for an int (not for a decimal):
    # a quantity of true is a filer's bug, not one parcel.
    if isinstance(value, bool):
        raise PydanticCustomError(
            "number_type",
            "must be a number, not a boolean. Got {value}.",
            {"value": format_value(value)},
        )
    return value


def _not_a_number(value: Any) -> Any:
    # pydantic's lax mode reads a number as seconds since 1970: a time must
    # be written out, with its offset.
    if isinstance(value, int | float):
        raise PydanticCustomError(
            "datetime_type",
            "must be a date and time as text with its UTC offset (RFC 3339), not a "
            "number. Got {value}.",
            {"value": format_value(value)},
        )
    return value


# The fast path (msgspec) refuses these inputs on its own: it knows both
# validators by identity and maps them to nothing.
NOT_A_BOOLEAN = BeforeValidator(_not_a_boolean)
NOT_A_NUMBER = BeforeValidator(_not_a_number)


# Shapes are checked here, in pydantic-core; membership in the reference
# lists (a real country, a real HS 2022 subheading, a GTIN check digit) is
# checked by validation.reference_problems over the validated model, which
# is 3x cheaper than a Python callback per field.
CountryCode = Annotated[str, Field(min_length=2, max_length=2)]
CurrencyCode = Annotated[str, Field(min_length=3, max_length=3)]
HSCode = Annotated[str, Field(pattern=r"^[0-9]{6,10}$")]
GTIN = Annotated[str, Field(min_length=8, max_length=14)]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, Field(min_length=1, max_length=512)]
ShortText = Annotated[str, Field(min_length=1, max_length=128)]
# Plausibility bounds for a parcel: a value or weight beyond them is a typo
# or a unit error (cents for units, grams for kilograms), not a parcel.
Money = Annotated[Decimal, Field(gt=0, le=1_000_000)]
Weight = Annotated[Decimal, Field(gt=0, le=5_000)]
# Times must carry their UTC offset: a parcel's filing and arrival times are
# compared across time zones. Their plausible window around receipt is
# checked after decoding (bounds.time_problems): it moves with the clock.
Timestamp = Annotated[AwareDatetime, NOT_A_NUMBER]


class FilerRole(StrEnum):
    MARKETPLACE = "marketplace"
    CARRIER = "carrier"
    POST = "post"
    BROKER = "broker"
    SELLER = "seller"


class TransportMode(StrEnum):
    AIR = "air"
    SEA = "sea"
    ROAD = "road"
    RAIL = "rail"
    POSTAL = "postal"


class Incoterm(StrEnum):
    """Incoterms 2020."""

    EXW = "EXW"
    FCA = "FCA"
    CPT = "CPT"
    CIP = "CIP"
    DAP = "DAP"
    DPU = "DPU"
    DDP = "DDP"
    FAS = "FAS"
    FOB = "FOB"
    CFR = "CFR"
    CIF = "CIF"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Filer(_Part):
    """Who submits the filing, identified by its platform participant id."""

    id: ShortText
    role: FilerRole
    name: Text | None = None
    eori: ShortText | None = None


class Address(_Part):
    street: Text | None = None
    city: ShortText | None = None
    postcode: Annotated[str, Field(max_length=16)] | None = None
    country: CountryCode


class Transport(_Part):
    mode: TransportMode
    tracking_number: ShortText | None = None
    master_ref: ShortText | None = Field(
        default=None, description="Master air waybill, bill of lading or UPU receptacle id."
    )
    departure_country: CountryCode
    arrival_office: ShortText | None = Field(
        default=None, description="Arrival port or customs office code (e.g. a UN/LOCODE)."
    )
    expected_arrival: Timestamp | None = None


class Seller(_Part):
    name: Text | None = None
    address: Address | None = None
    country: CountryCode | None = None
    marketplace_seller_id: ShortText | None = None
    tax_id: ShortText | None = None
    eori: ShortText | None = None
    ioss: Annotated[str, Field(pattern=r"^IM[0-9]{10}$")] | None = None


class Marketplace(_Part):
    name: Text
    id: ShortText | None = None
    listing_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] | None = None


class Consignee(_Part):
    name: Text | None = None
    address: Address | None = None
    country: CountryCode
    id: ShortText | None = None
    email_sha256: Sha256Hex | None = None
    phone_sha256: Sha256Hex | None = None


# --- 2026 rules (issue 20): national tariff lines and VAT-regime codes. ---
# Which nomenclatures exist, their line lengths and destinations are data
# (reference/data/national_lines.yaml), checked by validation; here only
# the shape.
NationalCode = Annotated[str, Field(pattern=r"^[0-9]{8,10}$")]
NomenclatureName = Annotated[str, Field(pattern=r"^[A-Z]{2}-[A-Z]{2,8}$")]
VatRegimeCode = Annotated[str, Field(pattern=r"^[A-Z][0-9]{2}$")]


class NationalLine(_Part):
    """A line of a national tariff extending the item's HS 2022 subheading:
    US HTS (10 digits), EU CN (8) or TARIC (10)."""

    code: NationalCode
    nomenclature: NomenclatureName
    version: ShortText | None = Field(
        default=None, description="Edition of the nomenclature (e.g. 2026 Revision 3)."
    )


# --- end of the 2026 block. ---


class Item(_Part):
    description: Text
    quantity: Annotated[int, Field(gt=0, le=100_000), NOT_A_BOOLEAN]
    unit_value: Money
    currency: CurrencyCode
    hs_code: HSCode | None = None
    gtin: GTIN | None = None
    sku: ShortText | None = Field(default=None, description="Merchant's product id.")
    mpn: ShortText | None = Field(default=None, description="Manufacturer's part number.")
    brand: ShortText | None = None
    origin_country: CountryCode | None = None
    net_weight_kg: Weight | None = None
    category_path: Text | None = Field(
        default=None,
        description="The marketplace's category path, most general first "
        '("Shoes > Women\'s Shoes > Boots"); used for HS suggestions.',
    )
    material: ShortText | None = Field(
        default=None, description="Main material as the listing states it."
    )
    # --- 2026 rules (issue 20). sku is the merchant product identifier and
    # mpn the manufacturer product identifier of Delegated Reg. (EU) 2026/1022.
    national_line: NationalLine | None = None
    postal_tracking_number: ShortText | None = Field(
        default=None, description="Foreign postal (S10) item id, for US Entry Type 13 matching."
    )
    # --- end of the 2026 block. ---


class Totals(_Part):
    value: Money
    currency: CurrencyCode
    gross_weight_kg: Weight | None = None
    packages: Annotated[int, Field(gt=0, le=999), NOT_A_BOOLEAN] = 1


class Declaration(_Part):
    """A house consignment: one parcel (or a few) from one seller to one consignee."""

    kind: Literal["house"] = "house"
    declaration_id: ShortText
    filer: Filer
    destination_country: CountryCode
    filed_at: Timestamp | None = None
    transport: Transport
    seller: Seller
    marketplace: Marketplace | None = None
    consignee: Consignee
    items: Annotated[list[Item], Field(min_length=1, max_length=999)]
    totals: Totals
    incoterm: Incoterm | None = None
    duty_paid_at_sale: bool = False
    vat_collected: Annotated[Decimal, Field(ge=0, le=1_000_000)] | None = None
    duty_collected: Annotated[Decimal, Field(ge=0, le=1_000_000)] | None = None
    # --- 2026 rules (issue 20). ---
    vat_regime: VatRegimeCode | None = Field(
        default=None, description="EU VAT-regime code: F48 IOSS, F49 special arrangements, F53."
    )
    entry_type: Annotated[str, Field(pattern=r"^[0-9A-Z-]{1,16}$")] | None = Field(
        default=None, description="US treatment claimed: 86, 321, 11, 13, postal-informal."
    )
    collected_by: ShortText | None = Field(
        default=None, description="Post or qualified party that collected US duty at origin."
    )
    duty_payer: ShortText | None = Field(
        default=None, description="Who paid the duty collected at origin (seller, buyer)."
    )
    # --- end of the 2026 block. ---

    @model_validator(mode="after")
    def _totals_agree(self) -> Declaration:
        items_sum = totals_mismatch(self.items, self.totals)
        if items_sum is not None:
            raise PydanticCustomError(
                "totals_mismatch",
                "totals.value must equal the sum of quantity x unit_value over items "
                "({items_sum}). Got {value}.",
                {"items_sum": str(items_sum), "value": str(self.totals.value)},
            )
        return self


def totals_mismatch(items: list[Item], totals: Totals) -> Decimal | None:
    """The items' sum when it disagrees with ``totals.value``, else None.

    Items in another currency than the totals cannot be summed without a
    rate (duty/ converts them), so only same-currency declarations are
    checked: to the cent, with 1% slack for rounding by the filer's system.
    """
    if any(i.currency != totals.currency for i in items):
        return None
    items_sum = sum((i.unit_value * i.quantity for i in items), Decimal(0))
    tolerance = max(Decimal("0.01"), items_sum / 100)
    return items_sum if abs(items_sum - totals.value) > tolerance else None


class MasterFiling(_Part):
    """The carrier's or post's part of a multiple filing: one transport document
    (master air waybill, bill of lading) or receptacle and the houses it carries."""

    kind: Literal["master"]
    master_ref: ShortText
    filer: Filer
    destination_country: CountryCode
    filed_at: Timestamp | None = None
    mode: TransportMode
    carrier_name: Text | None = None
    departure_country: CountryCode
    arrival_office: ShortText | None = None
    expected_arrival: Timestamp | None = None
    house_refs: Annotated[list[ShortText], Field(min_length=1, max_length=100_000)] = Field(
        description="Tracking numbers of the house consignments it carries."
    )
