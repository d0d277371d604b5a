"""Vectorised assessment of duty and tax for a batch of consignments.

:func:`assess` takes a :class:`DutyInput` (arrays over declarations and over
items) and returns a :class:`DutyResult`: per declaration the regime, the
intrinsic value, duty, VAT, what was due at the point of sale and any
shortfall against what the filer reports as collected; and the line-by-line
breakdown (which rule, which item, which base and rate). Regimes and rules
are looped over (a handful); declarations and items never are.

Amounts are float64 in the regime's currency, rounded to the cent per line;
totals are sums of rounded lines, as a customs entry shows them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from clearway.duty.regimes import DutyBook, Regime, Rule

__all__ = ["Assessment", "AssessmentLine", "DutyInput", "DutyResult", "assess"]

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741 - the array-of-indices alias reads best short
B = npt.NDArray[np.bool_]
O = npt.NDArray[np.object_]  # noqa: E741
NO_ITEM = -1


@dataclass(frozen=True, slots=True)
class Labels:
    """A column of strings as integer codes into ``names``: lookups and set
    tests run once per distinct value, then as integer indexing."""

    codes: I
    names: tuple[str, ...]

    @classmethod
    def encode(cls, values: list[str]) -> Labels:
        index: dict[str, int] = {}
        codes = np.fromiter(
            (index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values)
        )
        return cls(codes, tuple(index))

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, positions: I) -> Labels:
        return Labels(self.codes[positions], self.names)

    def map(self, table: Any) -> F:
        """``table(name)`` for every element, computed once per name."""
        per_name = np.array([table(name) for name in self.names], dtype=np.float64)
        return per_name[self.codes] if len(per_name) else np.zeros(len(self.codes))

    def normalised(self, how: Any) -> Labels:
        """The same column with every name replaced by ``how(name)``: names
        that become equal share a code."""
        index: dict[str, int] = {}
        remap = np.array(
            [index.setdefault(how(name), len(index)) for name in self.names], dtype=np.int64
        )
        return Labels(remap[self.codes] if len(remap) else self.codes, tuple(index))

    def isin(self, wanted: Any) -> B:
        hits = [k for k, name in enumerate(self.names) if name in wanted]
        return np.isin(self.codes, hits)


@dataclass(frozen=True, slots=True)
class DutyInput:
    """A batch of consignments as arrays. Per declaration (length n):
    destination, day (datetime64[D]), mode, ioss (the seller has an IOSS
    number), duty_paid_at_sale, collected (amount the filer reports as
    collected at sale, NaN when not reported) in collected_currency. Per item
    (length m): the declaration it belongs to, its line number, HS code ('' if
    none) and its first six digits, origin, value (quantity x unit value),
    currency; and the item rows themselves (``item_rows``), from which
    per-line rules read the keys they group by for the lines they apply to."""

    destination: Labels
    day: npt.NDArray[np.datetime64]
    mode: Labels
    ioss: B
    duty_paid_at_sale: B
    collected: F
    collected_currency: Labels
    item_decl: I
    item_line: I
    item_hs: Labels
    item_hs6: Labels
    item_origin: Labels
    item_value: F
    item_currency: Labels
    item_rows: Sequence[Mapping[str, Any]]

    def __len__(self) -> int:
        return len(self.destination)


@dataclass(frozen=True, slots=True)
class AssessmentLine:
    rule: str
    reason: str
    item_line: int | None
    base: float
    rate: float
    amount: float
    kind: str


FEE_KINDS = frozenset({"handling_fee"})


@dataclass(frozen=True, slots=True)
class Assessment:
    """One declaration's assessment, for people and for the store."""

    regime: str | None
    currency: str | None
    value: float
    duty: float
    vat: float
    total: float
    due_at_sale: float
    collected: float | None
    shortfall: float | None
    problem: str | None
    lines: tuple[AssessmentLine, ...]

    @property
    def fee(self) -> float:
        """Charges that are neither duty nor VAT (the EU handling fee); they
        are in ``total``."""
        return round(sum(line.amount for line in self.lines if line.kind in FEE_KINDS), 2)


@dataclass(slots=True)
class _Lines:
    decl: list[I] = field(default_factory=list)
    rule: list[I] = field(default_factory=list)
    item: list[I] = field(default_factory=list)
    base: list[F] = field(default_factory=list)
    rate: list[F] = field(default_factory=list)
    amount: list[F] = field(default_factory=list)

    def add(self, decl: I, rule: int, item: I, base: F, rate: F, amount: F) -> None:
        self.decl.append(decl)
        self.rule.append(np.full(len(decl), rule, dtype=np.int64))
        self.item.append(item)
        self.base.append(base)
        self.rate.append(rate)
        self.amount.append(np.round(amount, 2))


@dataclass(frozen=True, slots=True)
class DutyResult:
    """Per declaration arrays (length n) and the breakdown lines."""

    rules: tuple[Rule, ...]
    regimes: tuple[Regime, ...]
    regime: I  # index into regimes, -1 when none applies
    value: F
    duty: F
    vat: F
    fee: F
    due_at_sale: F
    collected: F
    shortfall: F
    problem: O
    line_decl: I
    line_rule: I
    line_item: I
    line_base: F
    line_rate: F
    line_amount: F

    @property
    def total(self) -> F:
        return np.round(self.duty + self.vat + self.fee, 2)

    def breakdown(self, index: int) -> Assessment:
        """The assessment of declaration ``index`` with its lines."""
        picked = np.flatnonzero(self.line_decl == index)
        lines = tuple(
            AssessmentLine(
                rule=self.rules[self.line_rule[k]].id,
                reason=self.rules[self.line_rule[k]].reason,
                item_line=None if self.line_item[k] == NO_ITEM else int(self.line_item[k]),
                base=float(self.line_base[k]),
                rate=float(self.line_rate[k]),
                amount=float(self.line_amount[k]),
                kind=self.rules[self.line_rule[k]].kind,
            )
            for k in picked
        )
        r = int(self.regime[index])
        regime = self.regimes[r] if r >= 0 else None
        collected = float(self.collected[index])
        shortfall = float(self.shortfall[index])
        return Assessment(
            regime=regime.id if regime else None,
            currency=regime.currency if regime else None,
            value=round(float(self.value[index]), 2),
            duty=float(self.duty[index]),
            vat=float(self.vat[index]),
            total=float(self.total[index]),
            due_at_sale=float(self.due_at_sale[index]),
            collected=None if np.isnan(collected) else round(collected, 2),
            shortfall=None if np.isnan(shortfall) else shortfall,
            problem=self.problem[index],
            lines=lines,
        )


def _fx(book: DutyBook, inp: DutyInput, regime_currency: Labels) -> tuple[F, F, B]:
    """Factors turning item values and collected amounts into the regime's
    currency, and which declarations lack a rate."""
    dates = sorted(book.fx.rates)
    names = sorted({book.fx.base} | {c for day in dates for c in book.fx.rates[day]})
    column = {name: k for k, name in enumerate(names)}
    matrix = np.full((len(dates), len(names)), np.nan)
    for row, day in enumerate(dates):
        matrix[row, column[book.fx.base]] = 1.0
        for name, rate in book.fx.rates[day].items():
            matrix[row, column[name]] = rate
    position = np.searchsorted(np.array(dates, dtype="datetime64[D]"), inp.day, side="right") - 1
    usable = position >= 0
    position = np.where(usable, position, 0)

    def per_unit(currencies: Labels, decls: I) -> F:
        """Units of each currency per base unit, on the day of its declaration."""
        index = currencies.map(lambda c: column.get(c, -1)).astype(np.int64)
        found = (index >= 0) & usable[decls]
        return np.where(found, matrix[position[decls], np.where(found, index, 0)], np.nan)

    every = np.arange(len(inp), dtype=np.int64)
    target = per_unit(regime_currency, every)
    item_factor = target[inp.item_decl] / per_unit(inp.item_currency, inp.item_decl)
    collected_factor = target / per_unit(inp.collected_currency, every)
    missing = np.isnan(target) | ~usable
    bad_items = np.isnan(item_factor)
    if bad_items.any():
        missing[inp.item_decl[bad_items]] = True
    return item_factor, collected_factor, missing


def _condition(rule: Rule, value: F, inp: DutyInput, postal_method: str) -> B:
    mask = np.ones(len(value), dtype=bool)
    when = rule.when
    if when.max_value is not None:
        mask &= value <= when.max_value
    if when.min_value_exclusive is not None:
        mask &= value > when.min_value_exclusive
    if when.modes is not None:
        mask &= inp.mode.isin({m.value for m in when.modes})
    if when.postal_method is not None and when.postal_method != postal_method:
        mask[:] = False
    if rule.valid_from is not None:
        mask &= inp.day >= np.datetime64(rule.valid_from)
    if rule.valid_to is not None:
        mask &= inp.day < np.datetime64(rule.valid_to)
    return mask


def assess(book: DutyBook, inp: DutyInput, *, postal_method: str = "ad_valorem") -> DutyResult:
    """Assess every declaration of ``inp`` under the regime of its destination
    and day. ``postal_method`` is the US postal operator's election
    (``ad_valorem`` or ``specific``)."""
    n = len(inp)
    regimes = tuple(book.regimes)
    regime = np.full(n, -1, dtype=np.int64)
    for r, candidate in enumerate(regimes):
        mask = inp.destination.isin(set(candidate.destinations))
        mask &= inp.day >= np.datetime64(candidate.valid_from)
        if candidate.valid_to is not None:
            mask &= inp.day < np.datetime64(candidate.valid_to)
        regime[mask] = r
    currency = Labels(regime + 1, ("", *(r.currency for r in regimes)))
    problem = np.full(n, None, dtype=object)
    problem[regime < 0] = "no duty regime for this destination on this date"
    item_factor, collected_factor, no_rate = _fx(book, inp, currency)
    problem[(regime >= 0) & no_rate] = "no exchange rate for a currency of this declaration"
    ok = regime >= 0
    ok &= ~no_rate
    # Converted amounts are rounded to the cent, as on the declaration, before
    # any threshold is compared: 172.50 USD at 1.15 is 150.00 EUR, not more.
    item_value = np.round(np.where(ok[inp.item_decl], inp.item_value * item_factor, 0.0), 2).astype(
        np.float64
    )
    value = np.round(np.bincount(inp.item_decl, weights=item_value, minlength=n), 2).astype(
        np.float64
    )

    rules: list[Rule] = []
    lines = _Lines()
    duty = np.zeros(n)
    vat = np.zeros(n)
    fee = np.zeros(n)
    due_at_sale = np.zeros(n)
    for r, candidate in enumerate(regimes):
        in_regime = ok & (regime == r)
        if not in_regime.any():
            rules.extend(candidate.rules)
            continue
        ordered = sorted(candidate.rules, key=lambda rule: rule.kind == "vat")
        covered: dict[str, B] = {}
        for rule in ordered:
            rule_index = len(rules)
            rules.append(rule)
            applies = in_regime & _condition(rule, value, inp, postal_method)
            if rule.fallback_for is not None:
                applies &= ~covered[rule.fallback_for]
            covered[rule.id] = applies
            if not applies.any():
                continue
            if rule.kind == "vat":
                _vat(book, rule, rule_index, applies, value, duty, vat, due_at_sale, inp, lines)
            elif rule.kind in FEE_KINDS:
                fee += _per_line(rule, rule_index, applies, inp, lines)
            elif rule.kind == "flat_per_item_line":
                duty += _per_line(rule, rule_index, applies, inp, lines)
            else:
                duty += _duty(book, candidate, rule, rule_index, applies, item_value, inp, lines)
    duty = np.round(duty, 2)
    vat = np.round(vat, 2)
    due_at_sale = np.round(due_at_sale + np.where(inp.duty_paid_at_sale, duty, 0.0), 2)
    collected = inp.collected * collected_factor
    # Amounts collected in another currency differ by cents once converted:
    # a gap within the larger of 0.05 or 1% of what is due is rounding.
    gap = np.round(np.maximum(due_at_sale - collected, 0.0), 2)
    gap = np.where(gap > np.maximum(0.05, 0.01 * due_at_sale), gap, 0.0)
    shortfall = np.where(np.isnan(collected), np.nan, gap)
    return DutyResult(
        rules=tuple(rules),
        regimes=regimes,
        regime=regime,
        value=np.round(value, 2),
        duty=duty,
        vat=vat,
        fee=np.round(fee, 2),
        due_at_sale=due_at_sale,
        collected=collected,
        shortfall=shortfall,
        problem=problem,
        line_decl=_ints(lines.decl),
        line_rule=_ints(lines.rule),
        line_item=_ints(lines.item),
        line_base=_floats(lines.base),
        line_rate=_floats(lines.rate),
        line_amount=_floats(lines.amount),
    )


def _per_line(rule: Rule, rule_index: int, applies: B, inp: DutyInput, lines: _Lines) -> F:
    """A flat amount per item line, lines alike in every ``group_by`` key
    counting once (five T-shirts on two lines: one charge; a T-shirt and a
    watch: two). A line missing a key cannot be shown alike: it counts
    alone. One breakdown line per group, on its first item line."""
    n = len(applies)
    items = np.flatnonzero(applies[inp.item_decl])
    key = inp.item_decl[items]
    alone = np.zeros(len(items), dtype=bool)
    group_by = rule.group_by or []
    rows = [inp.item_rows[k] for k in items.tolist()] if set(group_by) - {"origin"} else []
    for name in group_by:
        column = _group_column(name, inp, items, rows)
        width = len(column.names) + 1
        if "" in column.names:
            alone |= column.codes == column.names.index("")
        # Re-numbered after each key, so the combined key stays below m * m.
        key = np.unique(key * width + column.codes, return_inverse=True)[1].astype(np.int64)
    if not group_by:
        alone[:] = True
    key = np.where(alone, len(items) + np.arange(len(items)), key)
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)
    amount = float(rule.amount or 0)
    picked = items[first]
    charged = np.full(len(picked), amount)
    lines.add(
        inp.item_decl[picked],
        rule_index,
        inp.item_line[picked],
        np.ones(len(picked)),
        charged,
        charged,
    )
    return np.bincount(inp.item_decl[picked], weights=charged, minlength=n).astype(np.float64)


def _folded(description: str) -> str:
    # "Cotton  T-shirt" and "cotton t-shirt" describe the same goods.
    return " ".join(description.casefold().split())


def _group_column(name: str, inp: DutyInput, items: I, rows: Sequence[Mapping[str, Any]]) -> Labels:
    """A grouping key of the lines ``items``: ``classification`` is the
    national line when declared, else the HS code as declared; descriptions
    are compared with case and spacing folded."""
    if name == "origin":
        return inp.item_origin.take(items)
    if name == "classification":
        return Labels.encode([r.get("national_line") or r["hs_code"] or "" for r in rows])
    return Labels.encode([r["description"] for r in rows]).normalised(_folded)


def _ints(parts: list[I]) -> I:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _floats(parts: list[F]) -> F:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float64)


def _duty(
    book: DutyBook,
    regime: Regime,
    rule: Rule,
    rule_index: int,
    applies: B,
    item_value: F,
    inp: DutyInput,
    lines: _Lines,
) -> F:
    """Duty per declaration for one non-VAT rule; adds its lines."""
    n = len(applies)
    decls = np.flatnonzero(applies)
    zeros = np.zeros(len(decls))
    if rule.kind == "relief":
        lines.add(decls, rule_index, np.full(len(decls), NO_ITEM), zeros, zeros, zeros)
        return np.zeros(n)
    if rule.kind == "ad_valorem":
        items = np.flatnonzero(applies[inp.item_decl])
        rate = np.zeros(len(items))
        if rule.table == "mfn":
            rate += inp.item_hs.take(items).map(book.rates.mfn[regime.currency].rate)
        if rule.add_origin_rate:
            origin = book.rates.origin_rates.get(regime.currency)
            if origin is not None:
                rate += inp.item_origin.take(items).map(origin.rate)
        base = item_value[items]
        amount = np.round(base * rate, 2)
        lines.add(inp.item_decl[items], rule_index, inp.item_line[items], base, rate, amount)
        return np.bincount(inp.item_decl[items], weights=amount, minlength=n).astype(np.float64)
    if rule.kind == "flat_per_distinct_hs6":
        items = np.flatnonzero(applies[inp.item_decl])
        hs6 = inp.item_hs6.take(items)
        blank = hs6.names.index("") if "" in hs6.names else -1
        # An item without a code cannot be shown to share one: it counts alone.
        code = np.where(hs6.codes != blank, hs6.codes, len(hs6.names) + np.arange(len(items)))
        width = len(hs6.names) + len(items) + 1
        pairs = np.unique(inp.item_decl[items] * width + code)
        distinct = np.bincount(pairs // width, minlength=n)[decls].astype(float)
        amount = distinct * float(rule.amount or 0)
        lines.add(
            decls,
            rule_index,
            np.full(len(decls), NO_ITEM),
            distinct,
            np.full(len(decls), float(rule.amount or 0)),
            amount,
        )
        out = np.zeros(n)
        out[decls] = np.round(amount, 2)
        return out
    # specific_per_item_by_origin_band: one postal item, the band of its
    # highest-rated origin.
    origin = book.rates.origin_rates.get(regime.currency)
    items = np.flatnonzero(applies[inp.item_decl])
    item_rate = (
        inp.item_origin.take(items).map(origin.rate) if origin is not None else np.zeros(len(items))
    )
    top = np.full(n, -1.0)
    np.maximum.at(top, inp.item_decl[items], item_rate)
    amount = np.zeros(len(decls))
    assigned = np.zeros(len(decls), dtype=bool)
    for band in rule.bands or []:
        if band.below is None:
            hit = ~assigned
        elif band.inclusive:
            hit = ~assigned & (top[decls] <= band.below)
        else:
            hit = ~assigned & (top[decls] < band.below)
        amount[hit] = band.amount
        assigned |= hit
    lines.add(decls, rule_index, np.full(len(decls), NO_ITEM), top[decls], top[decls], amount)
    out = np.zeros(n)
    out[decls] = amount
    return out


def _vat(
    book: DutyBook,
    rule: Rule,
    rule_index: int,
    applies: B,
    value: F,
    duty: F,
    vat: F,
    due_at_sale: F,
    inp: DutyInput,
    lines: _Lines,
) -> None:
    """VAT: at the point of sale (IOSS, UK up to GBP 135) on the value, or at
    import on value plus duty."""
    decls = np.flatnonzero(applies)
    rate = inp.destination.take(decls).map(lambda c: book.rates.vat.get(c, np.nan))
    at_sale = np.zeros(len(decls), dtype=bool)
    if rule.ioss_max_value is not None:
        at_sale |= inp.ioss[decls] & (value[decls] <= rule.ioss_max_value)
    if rule.point_of_sale_max_value is not None:
        at_sale |= value[decls] <= rule.point_of_sale_max_value
    base = np.where(at_sale, value[decls], value[decls] + np.round(duty[decls], 2))
    taxed = base * rate
    amount = np.round(np.where(np.isnan(taxed), 0.0, taxed), 2).astype(np.float64)
    lines.add(decls, rule_index, np.full(len(decls), NO_ITEM), base, rate, amount)
    vat[decls] += amount
    due_at_sale[decls] += np.where(at_sale, amount, 0.0)
