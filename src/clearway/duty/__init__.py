"""Duty and tax on low-value consignments, with regimes as data."""

from clearway.duty.assess import Assessment, AssessmentLine, DutyInput, DutyResult, assess
from clearway.duty.inputs import duty_input
from clearway.duty.regimes import DutyBook, Regime, Rule, load_book

__all__ = [
    "Assessment",
    "AssessmentLine",
    "DutyBook",
    "DutyInput",
    "DutyResult",
    "Regime",
    "Rule",
    "assess",
    "duty_input",
    "load_book",
]
