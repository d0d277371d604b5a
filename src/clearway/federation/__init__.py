"""Federation: participants, roles, the data-sharing policy, and (to come)
referrals and webhooks to other nodes."""

from clearway.federation.policy import ACTIONS, ROLES, Caller, Policy, load_policy

__all__ = ["ACTIONS", "ROLES", "Caller", "Policy", "load_policy"]
