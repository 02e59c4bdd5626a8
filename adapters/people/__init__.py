"""People's state (`sweep.casework.PeopleStore`): accounts, sessions, decisions, dismissal memory, cases and
the hash-chained audit trail, in one relational database so that each change and its audit record
commit together.

`SWEEP_PEOPLE_URL` names the database as a SQLAlchemy URL (`postgresql+psycopg://sweep@127.0.0.1:5433/sweep`
in production); unset, it is the embedded SQLite file `{data_dir}/people.sqlite`.
"""

from __future__ import annotations

from sweep.casework import AttachmentFiles, PeopleStore
from sweep.settings import Settings, get_settings


def people_url(settings: Settings) -> str:
    url = getattr(settings, "people_url", None)
    if url:
        return url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(settings.data_dir / 'people.sqlite').resolve()}"


def open_people_store(settings: Settings | None = None) -> PeopleStore:
    """The store for `settings` (SQLite embedded unless a URL is set)."""
    from adapters.people.sql import SqlPeopleStore

    return SqlPeopleStore(people_url(settings or get_settings()))


def open_attachment_files(settings: Settings | None = None) -> AttachmentFiles:
    """The folder of case attachments (`SWEEP_ATTACHMENTS_DIR`, default `{data_dir}/attachments`)."""
    from adapters.people.files import FolderAttachmentFiles

    return FolderAttachmentFiles((settings or get_settings()).attachments_path)
