"""Run named contract checks on one subject, with one kind of failure and the caller's random state kept."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, TypeVar

import torch

from msmix.testing.assertions import one_line


class Subject(Protocol):
    """Whatever a contract checks; failures start with its ``label``."""

    @property
    def label(self) -> str: ...


SubjectT = TypeVar("SubjectT", bound=Subject)


def run_checks(
    contract: str,
    checks: Mapping[str, Callable[[SubjectT], None]],
    only: Iterable[str] | None,
    make_subject: Callable[[], SubjectT],
) -> None:
    """Run ``checks`` (all, or those named in ``only``) in order on ``make_subject()``.

    An error other than AssertionError inside a check (a backbone that crashes on a batch of one)
    is turned into an AssertionError naming the check, chained to the original. The global random
    state is restored afterwards, so checking does not change what the caller draws next.
    """
    names = list(checks if only is None else only)
    unknown = sorted(set(names) - set(checks))
    if unknown:
        raise ValueError(f"unknown {contract} checks {unknown}; known: {list(checks)}")
    with torch.random.fork_rng(devices=[]):
        subject = make_subject()
        for name in names:
            try:
                checks[name](subject)
            except AssertionError:
                raise
            except Exception as error:
                reason = f"{subject.label}: the {name} check stopped on {type(error).__name__}: {one_line(str(error))}"
                raise AssertionError(reason) from error
