"""Operations on the registers: every read or write of personal data is written to the audit log.

Route handlers and CLI commands call these methods only; they receive an :class:`~._security.Actor`
(whose role the router has already checked) and return ORM rows or plain dictionaries.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy import Engine, case, delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from accesoins.errors import AccesoinsError, ConfigurationError
from accesoins.registers._db import session_factory
from accesoins.registers._matching import AplLookup, haversine_km, score_pair
from accesoins.registers._models import (
    AuditEvent,
    DirectoryEntry,
    InstallationRequest,
    LoginAttempt,
    Match,
    Premises,
    Project,
    ProjectDocument,
    ProjectPartner,
    ProjectStage,
    User,
    UserSession,
    utcnow,
)
from accesoins.registers._schemas import (
    CLOSED_STATUSES,
    DIRECTORY_KINDS,
    ROLES,
    STAGES,
    DirectoryCreate,
    PremisesCreate,
    PremisesUpdate,
    ProjectCreate,
    ProjectUpdate,
    RequestCreate,
    RequestUpdate,
)
from accesoins.registers._security import (
    LOGIN_ATTEMPTS,
    LOGIN_WINDOW_S,
    SESSION_MAX_AGE_S,
    Actor,
    account_key,
    digest,
    hash_password,
    new_session_secrets,
    verify_password,
)

log = logging.getLogger(__name__)
ANONYMISED = "anonymisé"
MATCHES_SHOWN = 10
_LATLON = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


class RegisterNotFoundError(AccesoinsError, LookupError):
    """A register row that does not exist (or no longer exists)."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} n° {key} introuvable dans les registres.")


class PlaceNotFoundError(AccesoinsError, LookupError):
    """A place typed by a resident that the directory cannot locate."""


def fold(text: str) -> str:
    """Lower case without accents, hyphens or apostrophes (for searching).

    Examples
    --------
    >>> fold("Saint-Médard-en-Jalles")
    'saint medard en jalles'
    """
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[-'’_]", " ", plain).casefold().split())


def _months_ago(today: dt.date, months: int) -> dt.date:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    day = min(today.day, 28)
    return dt.date(year, month + 1, day)


class Registers:
    """The registers over one database (SQLite or PostgreSQL), with an optional APL lookup."""

    def __init__(self, engine: Engine, *, apl: AplLookup | None = None) -> None:
        self.engine = engine
        self.apl = apl
        self._sessions = session_factory(engine)
        self._batch = threading.local()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction; inside :meth:`transaction` (same thread), that transaction instead."""
        current: Session | None = getattr(self._batch, "session", None)
        if current is not None:
            yield current
            return
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Run several operations as one transaction: all are stored, or none (even on Ctrl-C or kill)."""
        with self._sessions() as session, session.begin():
            self._batch.session = session
            try:
                yield session
            finally:
                self._batch.session = None

    @staticmethod
    def audit(
        session: Session, actor: Actor, action: str, entity: str, ids: object = "", detail: str = ""
    ) -> None:
        if isinstance(ids, list | tuple):
            ids = ",".join(str(i) for i in ids)
        session.add(
            AuditEvent(
                user_id=actor.user_id,
                user_email=actor.email or "anonyme",
                action=action,
                entity=entity,
                entity_id=str(ids)[:60],
                detail=detail,
            )
        )

    # --- accounts ------------------------------------------------------------------------------------
    def create_user(self, email: str, password: str, *, role: str, name: str = "") -> User:
        if role not in ROLES:
            raise ConfigurationError(f"rôle inconnu « {role} ». Rôles possibles : {', '.join(ROLES)}")
        if len(password) < 12:
            raise ConfigurationError("mot de passe trop court : au moins 12 caractères")
        with self.session() as s:
            if s.scalar(select(User).where(func.lower(User.email) == email.lower())) is not None:
                raise ConfigurationError(f"un compte existe déjà pour {email}")
            user = User(email=email, name=name, role=role, password_hash=hash_password(password))
            s.add(user)
        return user

    def authenticate(self, email: str, password: str) -> User | None:
        with self.session() as s:
            user = s.scalar(select(User).where(func.lower(User.email) == email.lower(), User.active))
        return user if verify_password(user.password_hash if user else None, password) else None

    def set_password(self, actor: Actor, email: str, password: str) -> None:
        """Change an account's password and end all its open sessions (a thief's included)."""
        if len(password) < 12:
            raise ConfigurationError("mot de passe trop court : au moins 12 caractères")
        with self.session() as s:
            user = s.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
            if user is None:
                raise ConfigurationError(f"aucun compte pour {email}")
            user.password_hash = hash_password(password)
            s.execute(delete(UserSession).where(UserSession.user_id == user.id))
            self.audit(s, actor, "modification", "user", user.id, "mot de passe changé, sessions closes")

    # --- sessions and sign-in throttle ------------------------------------------------------------------
    def open_session(self, user_id: int) -> tuple[str, str]:
        """A new server-side session of ``user_id``: its key (for the cookie) and its CSRF token."""
        key, csrf = new_session_secrets()
        now = utcnow()
        with self.session() as s:
            s.execute(delete(UserSession).where(UserSession.expires_at < now))
            s.add(
                UserSession(
                    key_hash=digest(key),
                    user_id=user_id,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + dt.timedelta(seconds=SESSION_MAX_AGE_S),
                )
            )
        return key, csrf

    def session_user(self, key: str) -> tuple[User, str] | None:
        """The active user of an open, unexpired session and its CSRF token; None once it has ended."""
        with self.session() as s:
            found = s.execute(
                select(User, UserSession.csrf)
                .join(UserSession, UserSession.user_id == User.id)
                .where(UserSession.key_hash == digest(key), UserSession.expires_at > utcnow(), User.active)
            ).first()
        return (found[0], str(found[1])) if found else None

    def end_session(self, key: str) -> None:
        """Logout: the session's cookie no longer opens anything, even if it was copied."""
        with self.session() as s:
            s.execute(delete(UserSession).where(UserSession.key_hash == digest(key)))

    def sign_in_allowed(self, email: str) -> bool:
        """Record a sign-in attempt on an account; False past the limit within the window.

        The attempt is committed before counting, so that of any set of concurrent attempts (threads or
        server processes) the last to commit sees all the others: never more than the limit get through.
        """
        key, now = account_key(email), utcnow()
        since = now - dt.timedelta(seconds=LOGIN_WINDOW_S)
        with self.session() as s:
            s.execute(delete(LoginAttempt).where(LoginAttempt.at < since))
            s.add(LoginAttempt(account=key, at=now))
        with self.session() as s:
            count = s.scalar(
                select(func.count())
                .select_from(LoginAttempt)
                .where(LoginAttempt.account == key, LoginAttempt.at >= since)
            )
        return int(count or 0) <= LOGIN_ATTEMPTS

    def sign_in_succeeded(self, email: str) -> None:
        """A right password clears the account's counted attempts."""
        with self.session() as s:
            s.execute(delete(LoginAttempt).where(LoginAttempt.account == account_key(email)))

    def user(self, user_id: int) -> User | None:
        with self.session() as s:
            return s.scalar(select(User).where(User.id == user_id, User.active))

    def users(self, actor: Actor) -> Sequence[User]:
        with self.session() as s:
            self.audit(s, actor, "lecture", "user", detail="liste des comptes")
            return s.scalars(select(User).order_by(User.id)).all()

    # --- installation requests ----------------------------------------------------------------------
    def requests(self, actor: Actor, *, status: str | None = None) -> Sequence[InstallationRequest]:
        with self.session() as s:
            query = select(InstallationRequest).order_by(InstallationRequest.id)
            if status:
                query = query.where(InstallationRequest.status == status)
            rows = s.scalars(query).all()
            self.audit(s, actor, "lecture", "request", [r.id for r in rows], "liste des demandes")
            return rows

    def request(self, actor: Actor, request_id: int) -> InstallationRequest:
        with self.session() as s:
            row = s.get(InstallationRequest, request_id)
            if row is None:
                raise RegisterNotFoundError("demande d'installation", request_id)
            self.audit(s, actor, "lecture", "request", request_id)
            return row

    def create_request(self, actor: Actor, data: RequestCreate) -> InstallationRequest:
        values = data.model_dump()
        values["received_on"] = values["received_on"] or dt.date.today()
        with self.session() as s:
            row = InstallationRequest(**values)
            if row.status in CLOSED_STATUSES:
                row.closed_on = dt.date.today()
            s.add(row)
            s.flush()
            self.audit(s, actor, "creation", "request", row.id)
            self._refresh_matches(s, requests=[row])
        return row

    def update_request(self, actor: Actor, request_id: int, data: RequestUpdate) -> InstallationRequest:
        with self.session() as s:
            row = s.get(InstallationRequest, request_id)
            if row is None:
                raise RegisterNotFoundError("demande d'installation", request_id)
            changes = data.model_dump(exclude_unset=True)
            for key, value in changes.items():
                if value is not None or key in ("wished_lat", "wished_lon", "surface_min_m2", "wished_date"):
                    setattr(row, key, value)
            if row.status in CLOSED_STATUSES and row.closed_on is None:
                row.closed_on = dt.date.today()
            elif row.status not in CLOSED_STATUSES:
                row.closed_on = None
            self.audit(s, actor, "modification", "request", request_id, ", ".join(sorted(changes)))
            s.flush()
            self._refresh_matches(s, requests=[row])
        return row

    def follow_up(self, actor: Actor, request_id: int, *, status: str, note: str) -> InstallationRequest:
        """Change a request's status and append a dated, signed note to its follow-up notes.

        One UPDATE appends the note in the database (``notes || line``): never read, then written back,
        so agents writing at the same time all keep their note.
        """
        req = InstallationRequest
        today = dt.date.today()
        values: dict[str, Any] = {
            "status": status,
            "updated_at": utcnow(),
            "closed_on": func.coalesce(req.closed_on, today) if status in CLOSED_STATUSES else None,
        }
        if note.strip():
            line = f"{today:%d/%m/%Y} ({actor.email}) : {note.strip()}"
            values["notes"] = case((req.notes == "", line), else_=req.notes + "\n" + line)
        with self.session() as s:
            done = s.execute(
                update(req)
                .where(req.id == request_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                raise RegisterNotFoundError("demande d'installation", request_id)
            row = s.get(InstallationRequest, request_id, populate_existing=True)
            if row is None:
                raise RegisterNotFoundError("demande d'installation", request_id)
            self.audit(s, actor, "modification", "request", request_id, "suivi : statut, note")
            self._refresh_matches(s, requests=[row])
        return row

    # --- premises -----------------------------------------------------------------------------------
    def premises_list(self, actor: Actor) -> Sequence[Premises]:
        with self.session() as s:
            rows = s.scalars(select(Premises).order_by(Premises.id)).all()
            self.audit(s, actor, "lecture", "premises", [r.id for r in rows], "liste des locaux")
            return rows

    def premises(self, actor: Actor, premises_id: int) -> Premises:
        with self.session() as s:
            row = s.get(Premises, premises_id)
            if row is None:
                raise RegisterNotFoundError("local", premises_id)
            self.audit(s, actor, "lecture", "premises", premises_id)
            return row

    def create_premises(self, actor: Actor, data: PremisesCreate) -> Premises:
        with self.session() as s:
            row = Premises(**data.model_dump())
            s.add(row)
            s.flush()
            self.audit(s, actor, "creation", "premises", row.id)
            self._refresh_matches(s, premises=[row])
        return row

    def update_premises(self, actor: Actor, premises_id: int, data: PremisesUpdate) -> Premises:
        with self.session() as s:
            row = s.get(Premises, premises_id)
            if row is None:
                raise RegisterNotFoundError("local", premises_id)
            changes = data.model_dump(exclude_unset=True)
            for key, value in changes.items():
                if value is not None or key in ("rent_eur_month", "available_on"):
                    setattr(row, key, value)
            self.audit(s, actor, "modification", "premises", premises_id, ", ".join(sorted(changes)))
            s.flush()
            self._refresh_matches(s, premises=[row])
        return row

    # --- matches ------------------------------------------------------------------------------------
    def _refresh_matches(
        self,
        s: Session,
        *,
        requests: Sequence[InstallationRequest] | None = None,
        premises: Sequence[Premises] | None = None,
    ) -> None:
        """Recompute the scores of open requests × available premises touching the given rows."""
        if requests is None:
            requests = s.scalars(select(InstallationRequest)).all()
        if premises is None:
            premises = s.scalars(select(Premises)).all()
        for req in requests:
            for prem in premises:
                s.execute(delete(Match).where(Match.request_id == req.id, Match.premises_id == prem.id))
                if req.status in CLOSED_STATUSES or prem.status != "disponible" or req.anonymised_at:
                    continue
                commune = self.apl.at(prem.lat, prem.lon) if self.apl else None
                score, criteria = score_pair(
                    req, prem, commune_apl=commune, apl_available=self.apl is not None
                )
                s.add(
                    Match(
                        request_id=req.id,
                        premises_id=prem.id,
                        score=score,
                        criteria=criteria,
                        apl=commune.apl if commune else None,
                    )
                )

    def refresh_all_matches(self) -> int:
        with self.session() as s:
            self._refresh_matches(s)
            return int(s.scalar(select(func.count()).select_from(Match)) or 0)

    def matches(self, actor: Actor, request_id: int) -> list[dict[str, Any]]:
        with self.session() as s:
            if s.get(InstallationRequest, request_id) is None:
                raise RegisterNotFoundError("demande d'installation", request_id)
            rows = s.execute(
                select(Match, Premises)
                .join(Premises, Premises.id == Match.premises_id)
                .where(Match.request_id == request_id)
                .order_by(Match.score.desc(), Match.id)
                .limit(MATCHES_SHOWN)
            ).all()
        return [
            {
                "id": m.id,
                "request_id": m.request_id,
                "premises_id": p.id,
                "premises_label": p.label,
                "premises_commune": p.commune,
                "score": m.score,
                "criteria": m.criteria,
                "apl": m.apl,
                "status": m.status,
            }
            for m, p in rows
        ]

    # --- projects -----------------------------------------------------------------------------------
    def _project_query(self) -> Any:
        return select(Project).options(
            selectinload(Project.partners), selectinload(Project.documents), selectinload(Project.stages)
        )

    @staticmethod
    def project_view(row: Project) -> dict[str, Any]:
        return {
            "id": row.id,
            "name": row.name,
            "kind": row.kind,
            "commune": row.commune,
            "stage": row.stage,
            "stage_label": STAGES.get(row.stage, row.stage),
            "description": row.description,
            "stages": row.stages,
            "partners": row.partners,
            "documents": row.documents,
            "porteur_name": row.porteur_name,
            "porteur_email": row.porteur_email,
            "porteur_phone": row.porteur_phone,
        }

    def projects(self, actor: Actor) -> list[dict[str, Any]]:
        with self.session() as s:
            rows = s.scalars(self._project_query().order_by(Project.id)).all()
            if actor.is_staff:
                self.audit(s, actor, "lecture", "project", [r.id for r in rows], "liste des projets")
            return [self.project_view(r) for r in rows]

    def project(self, actor: Actor, project_id: int) -> dict[str, Any]:
        with self.session() as s:
            row = s.scalar(self._project_query().where(Project.id == project_id))
            if row is None:
                raise RegisterNotFoundError("projet", project_id)
            if actor.is_staff:
                self.audit(s, actor, "lecture", "project", project_id)
            return self.project_view(row)

    def create_project(self, actor: Actor, data: ProjectCreate) -> dict[str, Any]:
        values = data.model_dump(exclude={"partners", "documents"})
        with self.session() as s:
            row = Project(**values)
            row.partners = [ProjectPartner(**p.model_dump()) for p in data.partners]
            row.documents = [ProjectDocument(**d.model_dump()) for d in data.documents]
            row.stages = [
                ProjectStage(stage=row.stage, reached_on=dt.date.today(), note="création du projet")
            ]
            s.add(row)
            s.flush()
            self.audit(s, actor, "creation", "project", row.id)
            return self.project_view(row)

    def update_project(self, actor: Actor, project_id: int, data: ProjectUpdate) -> dict[str, Any]:
        with self.session() as s:
            row = s.scalar(self._project_query().where(Project.id == project_id))
            if row is None:
                raise RegisterNotFoundError("projet", project_id)
            changes = data.model_dump(exclude_unset=True, exclude={"partners", "documents", "stage_note"})
            for key, value in changes.items():
                if value is not None and key != "stage":
                    setattr(row, key, value)
            if data.stage is not None and (data.stage != row.stage or data.stage_note):
                row.stage = data.stage
                row.stages.append(
                    ProjectStage(stage=data.stage, reached_on=dt.date.today(), note=data.stage_note)
                )
            if data.partners is not None:
                row.partners = [ProjectPartner(**p.model_dump()) for p in data.partners]
            if data.documents is not None:
                row.documents = [ProjectDocument(**d.model_dump()) for d in data.documents]
            self.audit(
                s, actor, "modification", "project", project_id, ", ".join(sorted(data.model_fields_set))
            )
            s.flush()
            return self.project_view(row)

    # --- directory ------------------------------------------------------------------------------------
    def directory(self) -> Sequence[DirectoryEntry]:
        with self.session() as s:
            return s.scalars(
                select(DirectoryEntry).order_by(DirectoryEntry.commune, DirectoryEntry.structure)
            ).all()

    def directory_entry(self, entry_id: int) -> DirectoryEntry:
        with self.session() as s:
            row = s.get(DirectoryEntry, entry_id)
            if row is None:
                raise RegisterNotFoundError("adresse de l'annuaire", entry_id)
            return row

    def create_directory_entry(self, actor: Actor, data: DirectoryCreate) -> DirectoryEntry:
        with self.session() as s:
            row = DirectoryEntry(**data.model_dump())
            s.add(row)
            s.flush()
            self.audit(s, actor, "creation", "directory", row.id)
        return row

    def update_directory_entry(self, actor: Actor, entry_id: int, data: DirectoryCreate) -> DirectoryEntry:
        with self.session() as s:
            row = s.get(DirectoryEntry, entry_id)
            if row is None:
                raise RegisterNotFoundError("adresse de l'annuaire", entry_id)
            for key, value in data.model_dump().items():
                setattr(row, key, value)
            self.audit(s, actor, "modification", "directory", entry_id)
        return row

    def delete_directory_entry(self, actor: Actor, entry_id: int) -> None:
        with self.session() as s:
            row = s.get(DirectoryEntry, entry_id)
            if row is None:
                raise RegisterNotFoundError("adresse de l'annuaire", entry_id)
            s.delete(row)
            self.audit(s, actor, "suppression", "directory", entry_id)

    def locate(self, place: str, entries: Sequence[DirectoryEntry] | None = None) -> tuple[float, float, str]:
        """Point of a place typed by a resident: ``lat, lon``, or a commune of the directory or snapshot."""
        match = _LATLON.match(place)
        if match:
            lat, lon = float(match.group(1)), float(match.group(2))
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return lat, lon, "votre position"
        wanted = fold(place)
        entries = self.directory() if entries is None else entries
        same = [e for e in entries if fold(e.commune) == wanted]
        if same:
            return (
                float(np.mean([e.lat for e in same])),
                float(np.mean([e.lon for e in same])),
                same[0].commune,
            )
        if self.apl is not None:
            communes = self.apl.communes
            hit = communes[(communes["name"].map(fold) == wanted) | (communes["unit_id"] == place.strip())]
            if len(hit):
                point = hit.geometry.iloc[0].representative_point()
                return float(point.y), float(point.x), str(hit["name"].iloc[0])
        known = sorted({e.commune for e in entries})
        shown = ", ".join(known[:15]) + (" …" if len(known) > 15 else "")
        raise PlaceNotFoundError(
            f"lieu « {place} » introuvable : tapez le nom d'une commune de l'annuaire ({shown or 'aucune'})"
        )

    def search_directory(
        self, *, need: str | None = None, text: str = "", place: str = "", limit: int = 50
    ) -> tuple[list[dict[str, Any]], str]:
        """Entries matching a need (kind) and words, nearest to ``place`` first; and the place found."""
        entries = list(self.directory())
        origin = self.locate(place, entries) if place.strip() else None
        words = fold(text).split()
        kept = []
        for e in entries:
            if need and e.kind != need:
                continue
            haystack = fold(
                " ".join(
                    [
                        e.structure,
                        e.missions,
                        e.target_population,
                        e.conditions,
                        e.commune,
                        DIRECTORY_KINDS.get(e.kind, e.kind),
                        e.languages,
                    ]
                )
            )
            if all(w in haystack for w in words):
                kept.append(e)
        distances: list[float | None] = [None] * len(kept)
        if origin is not None and kept:
            d = haversine_km(origin[0], origin[1], [e.lat for e in kept], [e.lon for e in kept])
            order = np.argsort(d, kind="stable")
            kept = [kept[i] for i in order]
            distances = [round(float(d[i]), 2) for i in order]
        hits = [
            {**{c.name: getattr(e, c.name) for c in DirectoryEntry.__table__.columns}, "distance_km": dist}
            for e, dist in zip(kept[:limit], distances[:limit], strict=True)
        ]
        return hits, origin[2] if origin else ""

    def guide(self, commune: str) -> list[DirectoryEntry]:
        wanted = fold(commune)
        return [e for e in self.directory() if fold(e.commune) == wanted]

    # --- audit, retention, RGPD ---------------------------------------------------------------------
    def audit_log(self, *, limit: int = 200) -> Sequence[AuditEvent]:
        with self.session() as s:
            return s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)).all()

    def anonymise_closed(self, actor: Actor, *, months: int, today: dt.date | None = None) -> list[int]:
        """Anonymise requests closed more than ``months`` months ago; return their ids."""
        if months < 1:
            raise ConfigurationError("la durée de conservation doit être d'au moins 1 mois")
        limit = _months_ago(today or dt.date.today(), months)
        with self.session() as s:
            rows = s.scalars(
                select(InstallationRequest).where(
                    InstallationRequest.status.in_(CLOSED_STATUSES),
                    InstallationRequest.closed_on < limit,
                    InstallationRequest.anonymised_at.is_(None),
                )
            ).all()
            for row in rows:
                row.professional_name, row.email, row.phone = ANONYMISED, "", ""
                row.notes, row.project = "", ""
                row.anonymised_at = utcnow()
                s.execute(delete(Match).where(Match.request_id == row.id))
            ids = [r.id for r in rows]
            self.audit(
                s,
                actor,
                "anonymisation",
                "request",
                ids,
                f"demandes closes avant le {limit:%d/%m/%Y} ({len(ids)})",
            )
        return ids

    def export_person(self, actor: Actor, email: str) -> dict[str, Any]:
        """Everything the registers hold about the person with this e-mail (right of access, JSON-ready)."""
        key = email.strip().lower()
        if not key or "\x00" in key:
            raise ConfigurationError("indiquez l'adresse électronique de la personne")

        def plain(row: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
            out = {}
            for c in row.__table__.columns:
                if c.name in skip:
                    continue
                value = getattr(row, c.name)
                out[c.name] = value.isoformat() if isinstance(value, dt.date | dt.datetime) else value
            return out

        with self.session() as s:
            requests = s.scalars(
                select(InstallationRequest).where(func.lower(InstallationRequest.email) == key)
            ).all()
            projects = s.scalars(select(Project).where(func.lower(Project.porteur_email) == key)).all()
            partners = s.scalars(
                select(ProjectPartner).where(func.lower(ProjectPartner.contact_email) == key)
            ).all()
            users = s.scalars(select(User).where(func.lower(User.email) == key)).all()
            actions = s.scalars(select(AuditEvent).where(func.lower(AuditEvent.user_email) == key)).all()
            result = {
                "personne": email,
                "exporte_le": utcnow().isoformat(),
                "demandes_installation": [plain(r) for r in requests],
                "projets_portes": [plain(p) for p in projects],
                "contacts_partenaires": [plain(p) for p in partners],
                "comptes": [plain(u, skip=("password_hash",)) for u in users],
                "journal_des_actions": [plain(a) for a in actions],
            }
            self.audit(s, actor, "export", "personne", detail=f"export RGPD pour {email}")
        return result
