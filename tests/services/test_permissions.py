"""The permission matrix says why it refuses in the users' words (issue found by a new-user
helper: "amir is agent; ticket.override_holder needs lead")."""

from __future__ import annotations

import pytest

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.errors import NotAllowed
from supportdesk.services import escalation
from tests.helpers.desk import DeskFactory, new_ticket


def test_every_action_has_words_and_no_refusal_names_an_action() -> None:
    assert set(permissions.DOING) == set(permissions.MATRIX)
    for action, roles in permissions.MATRIX.items():
        assert roles in permissions.ROLES_WORDS, action  # "leads", "engineers and leads"
        assert "." not in permissions.DOING[action], action


def test_a_refusal_names_the_person_their_role_what_and_who_may(
    desk: Desk, make_desk: DeskFactory
) -> None:
    tid = new_ticket(desk)
    with pytest.raises(NotAllowed) as refused:
        escalation.reassign(make_desk("amir"), tid, "tomas")
    assert str(refused.value) == (
        "amir is an agent: changing a ticket someone else holds is for leads"
    )
