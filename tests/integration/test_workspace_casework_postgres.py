"""Case attachments and case–complaint links on PostgreSQL (the production people's store): records
and links commit with their audit, a merge carries the complaints over, links are refused for a case
that does not exist, and the hash chain still verifies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from adapters.people.sql import SqlPeopleStore
from sweep.audit import AuditEvent, verify_chain
from sweep.casework import Attachment, Case
from tests.integration.test_workspace_postgres import server_url, url  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 2, 8, tzinfo=UTC)


def audit(action: str, case_id: str = "") -> AuditEvent:
    return AuditEvent(actor="li", role="officer", action=action, resource_type="case", resource_id=case_id)


def new_case(store: SqlPeopleStore, title: str) -> Case:
    case = Case(title=title, owner="li", region="540100", created_by="li", created_at=NOW, lead_ids=["L1"])
    return store.create_case(case, [audit("case.create")])


def test_attachments_and_complaint_links_on_postgresql(url: str) -> None:  # noqa: F811 - the fixture
    store = SqlPeopleStore(url)
    first, second = new_case(store, "甲案"), new_case(store, "乙案")
    assert first.id is not None and second.id is not None
    made = store.add_attachment(
        Attachment(
            case_id=first.id,
            sha256="ab" * 32,
            filename="询问笔录.pdf",
            content_type="application/pdf",
            size=1234,
            uploaded_by="li",
            uploaded_at=NOW,
        ),
        audit("case.attach", str(first.id)),
    )
    assert made.id is not None
    assert store.get_attachment(made.id) == made
    assert [a.filename for a in store.attachments(first.id)] == ["询问笔录.pdf"]
    assert store.get_case(first.id).version == 2  # the attachment is a change of the case

    store.link_complaints(first.id, ["C-1", "C-2"], audit("case.complaint_link", str(first.id)))
    store.link_complaints(second.id, ["C-2", "C-3"], audit("case.complaint_link", str(second.id)))
    store.link_complaints(first.id, ["C-1"], audit("case.complaint_unlink", str(first.id)), unlink=True)
    assert store.get_case(first.id).complaint_ids == ["C-2"]
    assert [c.number for c in store.cases_of_complaint("C-2")] == [first.number, second.number]

    merged = store.merge_cases(first.id, second.id, audit("case.merge", str(first.id)))
    assert merged.complaint_ids == ["C-2", "C-3"]
    assert store.get_case(second.id).complaint_ids == []

    with pytest.raises(IntegrityError):  # a link to no case is refused by the database, with its record
        store.link_complaints(999_999, ["C-9"], audit("case.complaint_link", "999999"))
    assert store.audit_count(action="case.complaint_link") == 2
    assert verify_chain(store.audit_records()) == (7, None)  # 2 cases, 1 attachment, 3 links, 1 merge
    store.close()
