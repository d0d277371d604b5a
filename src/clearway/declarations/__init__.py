"""Declarations: the data model, intake, validation and data quality."""

from clearway.declarations.batch import PreparedBatch, Rejection, prepare_batch
from clearway.declarations.models import (
    Address,
    Consignee,
    Declaration,
    Filer,
    FilerRole,
    Incoterm,
    Item,
    Marketplace,
    MasterFiling,
    Seller,
    Totals,
    Transport,
    TransportMode,
)
from clearway.declarations.quality import Gap, Quality, assess_quality, is_vague
from clearway.declarations.validation import Filing, validate_record

__all__ = [
    "Address",
    "Consignee",
    "Declaration",
    "Filer",
    "FilerRole",
    "Filing",
    "Gap",
    "Incoterm",
    "Item",
    "Marketplace",
    "MasterFiling",
    "PreparedBatch",
    "Quality",
    "Rejection",
    "Seller",
    "Totals",
    "Transport",
    "TransportMode",
    "assess_quality",
    "is_vague",
    "prepare_batch",
    "validate_record",
]
