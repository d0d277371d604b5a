"""Duty and tax regimes as data: the schema of the YAML files and their loading.

A regime applies to some destinations between two dates and is a list of
rules (relief, ad valorem, flat per distinct HS6, flat per item line after
grouping, a handling fee, specific per postal item by origin band, VAT).
Rate tables (sample ad valorem rates, origin rates, VAT by destination) and
exchange rates are separate files. A new rule is a data
change; a file with an error is refused with the file and key named.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from clearway._internal.pydantic_errors import error_details
from clearway._internal.yaml_text import parse_yaml
from clearway.declarations.models import CountryCode, CurrencyCode, TransportMode
from clearway.errors import ConfigurationError
from clearway.plugins import plugin_manager

__all__ = [
    "Band",
    "DutyBook",
    "FxTable",
    "RateTables",
    "Regime",
    "Rule",
    "When",
    "load_book",
]

Rate = Annotated[float, Field(ge=0, le=10)]
Amount = Annotated[float, Field(ge=0, le=1_000_000)]
RuleKind = Literal[
    "relief",
    "ad_valorem",
    "flat_per_distinct_hs6",
    "flat_per_item_line",
    "handling_fee",
    "specific_per_item_by_origin_band",
    "vat",
]
# What item lines are grouped by before a per-line amount is charged: lines
# alike in every key named count once. "classification" is the national
# line when declared, else the HS code as declared (6 to 10 digits).
GroupKey = Literal["classification", "description", "origin"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Data):
    """Which consignments a rule applies to; every condition given must hold."""

    max_value: Amount | None = None
    min_value_exclusive: Amount | None = None
    modes: list[TransportMode] | None = None
    postal_method: Literal["specific", "ad_valorem"] | None = None


class Band(_Data):
    """A specific duty for origins whose effective rate is below ``below``
    (or up to it, when ``inclusive``); the last band has no upper limit."""

    below: Rate | None = None
    inclusive: bool = False
    amount: Amount


class Rule(_Data):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    kind: RuleKind
    reason: Annotated[str, Field(min_length=1)]
    when: When = When()
    source: str | None = Field(default=None, description="Legal text the rule comes from.")
    sample: bool = Field(default=False, description="Amount not yet set by law: illustration.")
    version: Annotated[int, Field(ge=1)] = 1
    valid_from: date | None = Field(default=None, description="Rule starts after its regime.")
    valid_to: date | None = Field(default=None, description="Rule ends before its regime.")
    group_by: list[GroupKey] | None = Field(
        default=None, description="Per-line rules: lines alike in these keys count once."
    )
    fallback_for: str | None = Field(
        default=None, description="Applies only where the rule with this id did not."
    )
    amount: Amount | None = None
    table: Literal["mfn", "none"] | None = None
    add_origin_rate: bool = False
    bands: list[Band] | None = None
    ioss_max_value: Amount | None = None
    point_of_sale_max_value: Amount | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Rule:
        needs = {
            "flat_per_distinct_hs6": ("amount",),
            "flat_per_item_line": ("amount", "group_by"),
            "handling_fee": ("amount", "group_by"),
            "ad_valorem": ("table",),
            "specific_per_item_by_origin_band": ("bands",),
        }.get(self.kind, ())
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind} rule needs {', '.join(missing)}")
        if self.bands is not None and (not self.bands or self.bands[-1].below is not None):
            raise ValueError("the last band must have no 'below' limit")
        return self


def _check_fallbacks(regime: Regime) -> None:
    seen: set[str] = set()
    for rule in regime.rules:
        if rule.fallback_for is not None and rule.fallback_for not in seen:
            raise ValueError(
                f"rule {rule.id}: fallback_for must name an earlier rule of "
                f"{regime.id}. Got {rule.fallback_for!r}"
            )
        seen.add(rule.id)


class Regime(_Data):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    name: str
    source: str | None = None
    destinations: Annotated[list[CountryCode], Field(min_length=1)]
    currency: CurrencyCode
    valid_from: date
    valid_to: date | None = Field(default=None, description="First day it no longer applies.")
    rules: Annotated[list[Rule], Field(min_length=1)]

    @model_validator(mode="after")
    def _dates_in_order(self) -> Regime:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(
                f"valid_to ({self.valid_to}) must be after valid_from ({self.valid_from})"
            )
        return self

    def applies_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


class _RegimeFile(_Data):
    regimes: list[Regime]


class MfnTable(_Data):
    default: Rate
    chapters: dict[Annotated[str, Field(pattern=r"^[0-9]{2}$")], Rate] = {}
    headings: dict[Annotated[str, Field(pattern=r"^[0-9]{4}$")], Rate] = {}

    def rate(self, hs_code: str | None) -> float:
        if not hs_code:
            return self.default
        heading = self.headings.get(hs_code[:4])
        if heading is not None:
            return heading
        return self.chapters.get(hs_code[:2], self.default)


class OriginRates(_Data):
    default: Rate
    countries: dict[CountryCode, Rate] = {}

    def rate(self, country: str | None) -> float:
        return self.countries.get(country or "", self.default)


class RateTables(_Data):
    sample: bool
    mfn: dict[CurrencyCode, MfnTable]
    origin_rates: dict[CurrencyCode, OriginRates] = {}
    vat: dict[CountryCode, Rate]


class FxTable(_Data):
    """Units of each currency per one unit of ``base``, from each date on."""

    sample: bool
    base: CurrencyCode
    rates: Annotated[
        dict[date, dict[CurrencyCode, Annotated[float, Field(gt=0)]]], Field(min_length=1)
    ]


class DutyBook(_Data):
    """Everything an assessment needs: regimes, rate tables, exchange rates."""

    regimes: list[Regime]
    rates: RateTables
    fx: FxTable

    @model_validator(mode="after")
    def _one_regime_per_day(self) -> DutyBook:
        for i, a in enumerate(self.regimes):
            for b in self.regimes[i + 1 :]:
                shared = set(a.destinations) & set(b.destinations)
                overlap = (a.valid_to is None or b.valid_from < a.valid_to) and (
                    b.valid_to is None or a.valid_from < b.valid_to
                )
                if shared and overlap:
                    raise ValueError(
                        f"regimes {a.id} and {b.id} both apply to "
                        f"{', '.join(sorted(shared))} on overlapping dates"
                    )
        for regime in self.regimes:
            if regime.currency not in self.rates.mfn:
                raise ValueError(f"regime {regime.id}: no mfn rate table for {regime.currency}")
        return self

    def regime_for(self, destination: str, day: date) -> Regime | None:
        for regime in self.regimes:
            if destination in regime.destinations and regime.applies_on(day):
                return regime
        return None


def _read(path: Path, model: type[_Data]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot be read: {exc}") from None
    data = parse_yaml(text, str(path), ConfigurationError)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{d.field or '(top)'}: {d.message}" for d in error_details(exc))
        raise ConfigurationError(f"{path}: {problems}") from None


def load_book(
    regime_files: list[Path] | None = None, rates: Path | None = None, fx: Path | None = None
) -> DutyBook:
    """Load and check the duty book; built-in files unless others are given.

    Regime files also come from plugins on ``clearway_duty_regime_files``.
    """
    data = Path(__file__).with_name("data")
    if regime_files is None:
        regime_files = [
            Path(p) for found in plugin_manager().hook.clearway_duty_regime_files() for p in found
        ]
    regimes = [r for path in regime_files for r in _read(path, _RegimeFile).regimes]
    try:
        return DutyBook(
            regimes=regimes,
            rates=_read(rates or data / "rates.yaml", RateTables),
            fx=_read(fx or data / "fx.yaml", FxTable),
        )
    except ValidationError as exc:
        problems = "; ".join(d.message for d in error_details(exc))
        files = ", ".join(str(p) for p in regime_files)
        raise ConfigurationError(f"duty regimes ({files}): {problems}") from None
