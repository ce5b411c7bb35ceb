"""Consul's status threshold filter (§3.4): SuccessBeforePassing, FailuresBeforeWarning and
FailuresBeforeCritical. Counters start at their thresholds, so the first result applies at once."""

from __future__ import annotations

from muster.checks.base import CheckResult
from muster.models import CRITICAL, WARNING, CheckDefinition


class Threshold:
    def __init__(self, definition: CheckDefinition) -> None:
        self.success_before_passing = definition.success_before_passing
        self.failures_before_critical = definition.failures_before_critical
        # 0 means "the same as FailuresBeforeCritical".
        self.failures_before_warning = definition.failures_before_warning or self.failures_before_critical
        self.successes = self.success_before_passing
        self.failures = self.failures_before_critical

    def apply(self, result: CheckResult) -> CheckResult | None:
        """The result to record, or None when the thresholds hold the current status."""
        if result.status != CRITICAL:
            self.successes += 1
            self.failures = 0
            return result if self.successes >= self.success_before_passing else None
        self.failures += 1
        self.successes = 0
        if self.failures >= self.failures_before_critical:
            return result
        if self.failures >= self.failures_before_warning:
            return CheckResult(WARNING, result.output)
        return None
