"""Bulk imports: many records in ONE atomic update, after every record has been checked.

Used by ``coprod-kg import DIR`` (validated, all or nothing: every failure is reported and
nothing is stored if any file fails) and by ``coprod-kg load`` for the bundled case files of
``data/cases`` (published by ``agent:coprod-kg-editors``; not re-validated here, the shapes tests
cover them; an unchanged file is skipped, a changed one becomes a new version, and the case of a
vanished file is withdrawn, its history kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from tqdm import tqdm

from coprod_kg.curation import records, updates
from coprod_kg.curation.accounts import Role, User
from coprod_kg.curation.base import CurationBase
from coprod_kg.curation.model import EDITORS, ImportReport, Status, VersionInfo, now
from coprod_kg.curation.prepare import Confine, Prepared, prepare
from coprod_kg.errors import CoprodError, Forbidden
from coprod_kg.validation.shacl import ValidationContext, ValidationFailed

#: The account that publishes the bundled case files.
EDITORS_USER = User(EDITORS, Role.CURATOR, "")
#: Prefix of the source name of versions imported from the bundled ``data/`` files.
BUNDLED_PREFIX = "data/"


@dataclass(frozen=True)
class Document:
    """One file to import: its name (for messages), bytes and media type."""

    name: str
    data: bytes
    media_type: str


def _describe(exc: CoprodError) -> str:
    if isinstance(exc, ValidationFailed):
        lines = [str(exc)]
        for finding in exc.result.violations:
            where = f"line {finding.line}: " if finding.line else ""
            lines.append(f"  {where}{finding.field or '(record)'}: {finding.message}")
        return "\n".join(lines)
    return str(exc)


def import_documents(cur: CurationBase, documents: Sequence[Document], user: User,
                     publish: bool = False, validate: bool = True, progress: bool = False,
                     withdraw_missing: bool = False) -> ImportReport:
    """Check every document, then store all new versions in ONE update (or nothing).

    ``withdraw_missing`` (bundled load only) withdraws published cases that came from a
    ``data/`` file no longer among ``documents``.
    """
    if publish and user.role is not Role.CURATOR:
        raise Forbidden(f"only curators may publish directly; {user.name} is a "
                        f"{user.role.value}")
    context = cur.validation_context() if validate else None
    prepared, failures = check_documents(documents, context, cur.confine if validate else None,
                                         progress)
    if failures:
        return ImportReport(failures=failures)
    return store_prepared(cur, prepared, user, publish, withdraw_missing)


def check_documents(documents: Sequence[Document], context: ValidationContext | None,
                    confine: Confine | None, progress: bool = False
                    ) -> tuple[list[Prepared], dict[str, str]]:
    """Parse and check every document (:func:`~coprod_kg.curation.prepare.prepare`; with
    ``context`` ``None`` and no ``confine``, without the store); the prepared records, and why
    each refused one was refused (a case or a minted resource in two files included)."""
    prepared: list[Prepared] = []
    failures: dict[str, str] = {}
    seen: dict[str, str] = {}
    minters: dict[str, str] = {}  # a resource minted by one file of the batch -> that file
    for doc in tqdm(documents, desc="validating", unit="file", disable=not progress):
        try:
            item = prepare(doc.data, doc.media_type, doc.name, context, confine)
        except CoprodError as exc:
            failures[doc.name] = _describe(exc)
            continue
        if item.case in seen:
            failures[doc.name] = f"{item.case} is also in {seen[item.case]}"
            continue
        twice = sorted(m for m in item.minted if m in minters)
        if twice:
            failures[doc.name] = "; ".join(f"{m} is also described in {minters[m]}"
                                           for m in twice)
            continue
        minters.update(dict.fromkeys(item.minted, doc.name))
        seen[item.case] = doc.name
        prepared.append(item)
    return prepared, failures


def store_prepared(cur: CurationBase, prepared: list[Prepared], user: User, publish: bool,
                   withdraw_missing: bool) -> ImportReport:
    """Store the new versions of ``prepared`` (checked by :func:`check_documents`) in ONE
    update; an unchanged record is skipped."""
    with cur.lock:
        reader = cur.writer()
        everything = records.versions(reader)
        by_case: dict[str, list[VersionInfo]] = {}
        for info in everything:
            by_case.setdefault(info.case, []).append(info)
        new: list[updates.NewVersion] = []
        skipped: list[str] = []
        for item in prepared:
            found = by_case.get(item.case, [])
            if found and found[-1].content_hash == item.content_hash:
                skipped.append(str(item.source_name))
                continue
            latest = found[-1].number if found else None
            info = cur.new_version(item, user, (latest or 0) + 1, publish, latest)
            new.append(updates.NewVersion(info, item.triples,
                                          records.published(found) if publish else None))
        withdrawn = _vanished(by_case, {p.case for p in prepared}) if withdraw_missing else []
        if not new and not withdrawn:
            return ImportReport(skipped=skipped)
        when = now()
        parts = [updates.insert_versions(new)] if new else []
        parts += [updates.withdraw(info, user.name, when) for info in withdrawn]
        cur.commit(updates.combine(parts), user.name, "import",
                   f"{len(new)} version(s), {len(withdrawn)} withdrawn")
    imported = [v.info for v in new] + [replace(w, status=Status.WITHDRAWN) for w in withdrawn]
    return ImportReport(imported=imported, skipped=skipped)


def _vanished(by_case: dict[str, list[VersionInfo]], present: set[str]) -> list[VersionInfo]:
    out = []
    for case, found in sorted(by_case.items()):
        current = records.published(found)
        if (case not in present and current is not None and current.source_name
                and current.source_name.startswith(BUNDLED_PREFIX)):
            out.append(current)
    return out

