"""Findings and reports: what the validator says, in a form people and machines both read."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """How bad a finding is. Only errors make a document invalid."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One problem: a stable rule id, how bad it is, where it is, and a sentence a person understands.

    ``rule`` ids are kebab-case and never renamed, so scripts can filter on them; ``path`` is a JSON path
    inside the document (``ome.multiscales[0].axes[1].name``) and ``where`` the file or URL it came from.
    """

    rule: str
    severity: Severity
    path: str
    message: str
    where: str = ""

    def format(self) -> str:
        loc = self.where + (f" [{self.path}]" if self.path else "")
        return f"{self.severity}: {loc}: {self.message} ({self.rule})"

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "path": self.path,
            "message": self.message,
            "where": self.where,
        }


@dataclass
class Collector:
    """Gathers findings while rules walk a document; knows the file it is looking at.

    Rules call :meth:`error` / :meth:`warn` with a JSON path; the collector stamps the location on, and
    drops exact duplicates so that each problem is listed once.
    """

    where: str = ""
    findings: list[Finding] = field(default_factory=list)
    _seen: set[tuple[str, str, str, str]] = field(default_factory=set, repr=False)

    def add(self, rule: str, severity: Severity, path: str, message: str) -> None:
        self._append(Finding(rule, severity, path, message, self.where))

    def error(self, rule: str, path: str, message: str) -> None:
        self.add(rule, Severity.ERROR, path, message)

    def warn(self, rule: str, path: str, message: str) -> None:
        self.add(rule, Severity.WARNING, path, message)

    def info(self, rule: str, path: str, message: str) -> None:
        self.add(rule, Severity.INFO, path, message)

    def extend(self, findings: Iterable[Finding]) -> None:
        """Take findings made elsewhere (another file of the hierarchy), keeping their locations."""
        for f in findings:
            self._append(f)

    def _append(self, f: Finding) -> None:
        key = (f.rule, f.where, f.path, f.message)
        if key not in self._seen:
            self._seen.add(key)
            self.findings.append(f)

    @property
    def error_count(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)


@dataclass(frozen=True)
class Report:
    """The verdict on one target (a document, a group, or a whole hierarchy).

    Made by :func:`ngffkit.validate` and :func:`ngffkit.validate_attributes`; iterating over a report gives its
    findings.

    :param target: the path, URL or name of what was validated.
    :param findings: every problem found, once each (errors, warnings and notes), each with its rule id, file and
        JSON path.
    :param version: the NGFF version the target was read as; None when it could not be told.
    :param kind: what the target is (``"image"``, ``"plate"``, ...); None when it could not be told.
    """

    target: str
    findings: tuple[Finding, ...]
    version: str | None = None
    kind: str | None = None

    @property
    def valid(self) -> bool:
        """Whether no finding is an error (warnings do not make a target invalid)."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings that are errors."""
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The findings that are warnings."""
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def summary(self) -> str:
        """One line: valid or not, what it is, and the first error."""
        what = " ".join(x for x in (self.kind, f"NGFF {self.version}" if self.version else None) if x)
        head = " ".join(x for x in ("valid" if self.valid else "invalid", what) if x)
        if self.valid:
            n = len(self.warnings)
            return head + (f" ({n} warning{'s' if n != 1 else ''})" if n else "")
        first = self.errors[0]
        more = len(self.errors) - 1
        extra = f" (+{more} more error{'s' if more != 1 else ''})" if more else ""
        loc = f"[{first.path}] " if first.path else ""
        return f"{head}: {loc}{first.message}{extra}"

    def to_dict(self) -> dict[str, object]:
        """The report as plain JSON-ready data (what ``ngffkit validate --json`` prints)."""
        return {
            "valid": self.valid,
            "message": self.summary(),
            "target": self.target,
            "version": self.version,
            "kind": self.kind,
            "findings": [f.to_dict() for f in self.findings],
        }
