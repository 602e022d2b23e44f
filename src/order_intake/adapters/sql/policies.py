"""An organisation's invitation policy: read it, change it and re-plan what is not yet sent, in one transaction."""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from order_intake.adapters.sql.admin import find_organisation
from order_intake.adapters.sql.invitation_locks import lock_customers
from order_intake.adapters.sql.invitations import replan_customers, stored_json, stored_policy
from order_intake.adapters.sql.schema import organisations
from order_intake.domain.policy import Policy, changed_policy
from order_intake.errors import AdminError
from order_intake.service.invitations import policy_of

__all__ = ["PolicyChange", "organisation_policy", "set_policy"]


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """A policy as it is after a change, the settings whose value changed (new values) and what was re-planned."""

    policy: Policy
    changed: dict[str, object]
    invitations_replanned: int


def organisation_policy(conn: sa.Connection, trkref: str, default_from: str) -> Policy:
    """The organisation's policy: its stored settings over the defaults (`from`: the deployment's sender)."""
    organisation = find_organisation(conn, trkref)
    return policy_of(stored_policy(conn, organisation.id), default_from)


def set_policy(
    conn: sa.Connection, trkref: str, changes: dict[str, str], *, default_from: str, now: dt.datetime
) -> PolicyChange:
    """Change settings (names as in Policy.as_json, values as text); every bad value is an AdminError, nothing changed.

    Only the settings that differ from the defaults are stored, so an organisation that never chose a
    sender follows the deployment's. When the policy changed, every customer with an unsent
    invitation is re-planned.
    """
    organisation = find_organisation(conn, trkref)
    lock_customers(conn, organisation.id, None)  # before the policy is read: no re-planning runs meanwhile
    before = policy_of(stored_policy(conn, organisation.id), default_from)
    after, errors = changed_policy(before, dict(changes))
    if errors:
        raise AdminError("; ".join(errors))
    old, new = before.as_json(), after.as_json()
    changed = {name: value for name, value in new.items() if old[name] != value}
    if not changed:
        return PolicyChange(after, {}, 0)
    defaults = Policy(sender=default_from).as_json()
    differing = {name: value for name, value in new.items() if defaults[name] != value}
    stored = stored_json(conn, differing) if differing else sa.null()  # NULL, not JSON null: every default
    conn.execute(organisations.update().where(organisations.c.id == organisation.id).values(invitation_policy=stored))
    return PolicyChange(after, changed, replan_customers(conn, organisation.id, None, now))
