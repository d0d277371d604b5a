"""The risk frame: a batch's features and the fields rules test, one array
each, and the learned model's view of it (:data:`DECLARATION_SPEC`). The
sequencer (:mod:`clearway.clearance.sequencer`) fills in the features that
need history and decides lanes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from clearway.classification.misclassification import ItemClassification
from clearway.declarations.batch import PreparedHouse
from clearway.parties.checks import PartyChecks
from clearway.risk.features import FEATURES, ValueReference, risk_features
from clearway.risk.model import FeatureSpec
from clearway.risk.rules import FIELDS

__all__ = ["DECLARATION_SPEC", "risk_frame"]

# The learned model's view of a declaration: every feature, the route, and
# the track record of its seller and filer (outcome rates learned from
# inspections, out of fold).
DECLARATION_SPEC = FeatureSpec(
    categorical=("destination_country", "departure_country", "mode", "filer_role"),
    numeric=tuple(FEATURES),
    encoded=(("seller",), ("filer",), ("seller_country",)),
    descriptions={**FEATURES, "seller": "seller", "filer": "filer"},
)


def risk_frame(
    houses: Sequence[PreparedHouse],
    *,
    classified: Sequence[Sequence[ItemClassification]] | None = None,
    parties: PartyChecks | None = None,
    reference: ValueReference | Literal["batch"] | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """Features and the text fields rules may test, one array each."""
    frame: dict[str, npt.NDArray[Any]] = dict(
        risk_features(houses, classified=classified, parties=parties, reference=reference)
    )
    for name in sorted(FIELDS):
        frame[name] = np.array([str(h.columns.get(name) or "") for h in houses])
    # Who filed and who receives: the learned model keeps their track record.
    frame["seller"] = np.array(
        [f"{h.columns['seller_name']}|{h.columns['seller_country']}".lower() for h in houses]
    )
    frame["filer"] = np.array([h.filer_id for h in houses])
    return frame
