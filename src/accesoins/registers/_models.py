"""SQLAlchemy 2 tables of the local registers (same schema on SQLite and PostgreSQL).

Personal data (names, e-mails, phone numbers, follow-up notes) lives only in the columns listed by
:data:`PERSONAL_FIELDS`; every read or write of them goes through :mod:`._service`, which audits it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "reg_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UserSession(Base):
    """A signed-in session (the cookie carries its random key): logout or a new password deletes it."""

    __tablename__ = "reg_session"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("reg_user.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """One sign-in attempt on an account, counted by every server process (throttle)."""

    __tablename__ = "reg_login_attempt"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(254), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class InstallationRequest(Base):
    """A professional's wish to settle in the territory, followed up by an agent."""

    __tablename__ = "reg_request"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    professional_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    profession: Mapped[str] = mapped_column(String(60))
    project: Mapped[str] = mapped_column(Text, default="")
    wished_commune: Mapped[str] = mapped_column(String(120), default="")
    wished_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    wished_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    wished_radius_km: Mapped[float] = mapped_column(Float, default=5.0)
    surface_min_m2: Mapped[float | None] = mapped_column(Float, nullable=True)
    needs_accessibility: Mapped[bool] = mapped_column(Boolean, default=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    wished_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="nouvelle")
    closed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Premises(Base):
    """A place where a practice could open (vacant medical premises, social landlord's shop...)."""

    __tablename__ = "reg_premises"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    commune: Mapped[str] = mapped_column(String(120), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    surface_m2: Mapped[float] = mapped_column(Float)
    rent_eur_month: Mapped[float | None] = mapped_column(Float, nullable=True)
    accessible_pmr: Mapped[bool] = mapped_column(Boolean, default=False)
    available_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    owner_kind: Mapped[str] = mapped_column(String(30), default="autre")
    owner_name: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20), default="disponible")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Match(Base):
    """A request–premises pair with its score (0–100) and the criteria that explain it."""

    __tablename__ = "reg_match"
    __table_args__ = (UniqueConstraint("request_id", "premises_id", name="uq_reg_match_pair"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("reg_request.id", ondelete="CASCADE"))
    premises_id: Mapped[int] = mapped_column(ForeignKey("reg_premises.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    apl: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="proposee")
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Project(Base):
    """A coordinated-practice project (MSP, centre de santé, CPTS) and its current stage."""

    __tablename__ = "reg_project"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    commune: Mapped[str] = mapped_column(String(120), default="")
    stage: Mapped[str] = mapped_column(String(30), default="site")
    description: Mapped[str] = mapped_column(Text, default="")
    porteur_name: Mapped[str] = mapped_column(String(200), default="")
    porteur_email: Mapped[str] = mapped_column(String(254), default="")
    porteur_phone: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    partners: Mapped[list[ProjectPartner]] = relationship(
        cascade="all, delete-orphan", order_by="ProjectPartner.id"
    )
    documents: Mapped[list[ProjectDocument]] = relationship(
        cascade="all, delete-orphan", order_by="ProjectDocument.id"
    )
    stages: Mapped[list[ProjectStage]] = relationship(
        cascade="all, delete-orphan", order_by="ProjectStage.id"
    )


class ProjectStage(Base):
    """History of a project's stages (the last one is the current stage)."""

    __tablename__ = "reg_project_stage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("reg_project.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(30))
    reached_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")


class ProjectPartner(Base):
    __tablename__ = "reg_project_partner"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("reg_project.id", ondelete="CASCADE"))
    organisation: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")


class ProjectDocument(Base):
    """Metadata of a project's document (the file itself stays where the team keeps it)."""

    __tablename__ = "reg_project_document"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("reg_project.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(60), default="")
    location: Mapped[str] = mapped_column(String(500), default="")
    dated: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class DirectoryEntry(Base):
    """A public place of care or help, shown to residents (no personal data)."""

    __tablename__ = "reg_directory"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    structure: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    missions: Mapped[str] = mapped_column(Text, default="")
    target_population: Mapped[str] = mapped_column(String(300), default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    commune: Mapped[str] = mapped_column(String(120))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    opening_hours: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    pmr_accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    languages: Mapped[str] = mapped_column(String(200), default="français")
    secteur_1: Mapped[bool] = mapped_column(Boolean, default=False)
    tiers_payant: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEvent(Base):
    """One read or write of personal data (who, when, what)."""

    __tablename__ = "reg_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_email: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(60), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "request": ("professional_name", "email", "phone", "notes", "project"),
    "premises": ("contact_name", "contact_phone"),
    "project": ("porteur_name", "porteur_email", "porteur_phone"),
    "partner": ("contact_name", "contact_email"),
}
