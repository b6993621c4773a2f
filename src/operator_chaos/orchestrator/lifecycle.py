"""One experiment, start to verdict, with the revert guaranteed.

Pending (resolve, plan, gate) -> SteadyStatePre -> Injecting -> Holding -> Reverting ->
Observing -> SteadyStatePost -> Evaluating -> Complete, or Aborted from any phase. The fault
is reverted *before* observing (unlike the Go reference, which observed with the fault still
on), and the ``finally`` block reverts whatever the ledger says is still applied, whatever
went wrong, including Ctrl-C.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from operator_chaos.api.v1alpha1 import (
    CheckRound,
    ExperimentEvent,
    ExperimentResult,
    InjectionOutcome,
    Phase,
    PhaseRecord,
    RecoveryOutcome,
    ResourceOutcome,
    RevertOutcome,
    SteadyStateCheck,
    Verdict,
)
from operator_chaos.errors import OperatorChaosError, RevertFailed
from operator_chaos.evaluate import verdict as judge
from operator_chaos.injection import registry
from operator_chaos.injection.base import InjectionParams
from operator_chaos.injection.protocol import Injector, Plan, Scope
from operator_chaos.knowledge.model import OperatorKnowledge
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, ResourceRef
from operator_chaos.load.experiments import LoadedExperiment
from operator_chaos.observe.recovery import ManagedExpectation, Observer
from operator_chaos.orchestrator import checkpoints, clean, results
from operator_chaos.orchestrator.events import Progress, ProgressSink, discard
from operator_chaos.safety import labels, lease, ledger, policy
from operator_chaos.safety.owner import Owner

log = logging.getLogger(__name__)
T = TypeVar("T")
REVERT_GRACE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run (everything the command line can change)."""

    dry_run: bool = False
    hold: timedelta | None = None
    stability: timedelta = timedelta(seconds=2)
    tool_namespace: str = labels.DEFAULT_NAMESPACE
    knowledge: OperatorKnowledge | None = None
    store_result: bool = True
    sweep_stale: bool = True


@dataclass
class _Run:
    """The mutable side of a run; frozen into an :class:`ExperimentResult` at the end."""

    loaded: LoadedExperiment
    sink: ProgressSink
    cluster: str
    run_id: str = field(default_factory=ledger.new_run_id)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    phase: Phase = Phase.PENDING
    phases: list[PhaseRecord] = field(default_factory=list)
    events: list[ExperimentEvent] = field(default_factory=list)
    verdict: Verdict | None = None
    message: str = ""
    pre: CheckRound | None = None
    post: CheckRound | None = None
    injection: InjectionOutcome | None = None
    revert: RevertOutcome | None = None
    recovery: RecoveryOutcome | None = None
    managed: list[ResourceOutcome] = field(default_factory=list)
    collateral: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
    interrupted: bool = False
    error: OperatorChaosError | None = None
    fault_ns: int = 0
    since_ns: int = 0

    @property
    def name(self) -> str:
        return self.loaded.experiment.metadata.name

    def enter(self, phase: Phase) -> None:
        now = datetime.now(UTC)
        if self.phases and self.phases[-1].ended_at is None:
            self.phases[-1] = self.phases[-1].model_copy(update={"ended_at": now})
        self.phases.append(PhaseRecord(phase=phase, started_at=now))
        self.phase = phase
        self.sink(Progress(self.name, f"phase {phase.value}", phase))

    def event(self, action: str, message: str, *, target: str = "", level: str = "info") -> None:
        self.events.append(
            ExperimentEvent(
                timestamp=datetime.now(UTC),
                phase=self.phase,
                action=action,
                target=target,
                message=message,
            )
        )
        self.sink(Progress(self.name, message, self.phase, level))

    def result(self, dry_run: bool) -> ExperimentResult:
        ended = datetime.now(UTC)
        if self.phases and self.phases[-1].ended_at is None:
            self.phases[-1] = self.phases[-1].model_copy(update={"ended_at": ended})
        spec = self.loaded.experiment.spec
        return ExperimentResult(
            run_id=self.run_id,
            experiment=self.name,
            file=str(self.loaded.path),
            operator=spec.target.operator,
            component=spec.target.component,
            tier=spec.tier,
            hypothesis=" ".join(spec.hypothesis.description.split()),
            cluster=self.cluster,
            dry_run=dry_run,
            verdict=self.verdict,
            phase=self.phase,
            message=self.message,
            started_at=self.started,
            ended_at=ended,
            duration_ms=int((ended - self.started).total_seconds() * 1000),
            phases=self.phases,
            steady_state_pre=self.pre,
            steady_state_post=self.post,
            injection=self.injection,
            revert=self.revert,
            recovery=self.recovery,
            managed_resources=self.managed,
            collateral=self.collateral,
            deviations=self.deviations,
            events=self.events,
        )


def resolve_namespace(loaded: LoadedExperiment, params: object) -> str | None:
    """Where a namespaced fault acts: its ``namespace`` parameter, the experiment's
    metadata.namespace, else the first allowed namespace of the blast radius."""
    explicit = getattr(params, "namespace", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    exp = loaded.experiment
    if exp.metadata.namespace:
        return exp.metadata.namespace
    allowed = exp.spec.blast_radius.allowed_namespaces
    return allowed[0] if allowed else None


def expectations(
    knowledge: OperatorKnowledge | None, component: str
) -> tuple[list[ManagedExpectation], list[SteadyStateCheck], str | None]:
    """Managed resources of the target component and other components' checks (collateral)."""
    if knowledge is None:
        return [], [], None
    managed: list[ManagedExpectation] = []
    collateral: list[SteadyStateCheck] = []
    found = False
    for comp in knowledge.components:
        if comp.name == component:
            found = True
            managed.extend(
                ManagedExpectation(
                    ref=ResourceRef(res.api_version, res.kind, res.name, res.namespace),
                    labels=dict(res.labels),
                    expected_spec=dict(res.expected_spec),
                )
                for res in comp.managed_resources
            )
        else:
            collateral.extend(comp.steady_state.checks)
    warning = None if found else f"component {component!r} is not in the knowledge model"
    return managed, collateral, warning


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """The result, plus the error that stopped the run early (refusal, lock, failed revert)."""

    result: ExperimentResult
    error: OperatorChaosError | None = None
    interrupted: bool = False


async def run_experiment(
    kube: KubeClient,
    loaded: LoadedExperiment,
    options: RunOptions = RunOptions(),
    sink: ProgressSink = discard,
) -> RunOutcome:
    """Run one experiment. Outcomes and refusals are returned, never raised."""
    run = _Run(loaded, sink, cluster=f"{kube.server} ({kube.context})")
    try:
        await _lifecycle(kube, run, options)
    except asyncio.CancelledError:
        run.interrupted = True
        run.verdict = Verdict.INCONCLUSIVE
        run.message = "interrupted; the fault was reverted"
        run.enter(Phase.ABORTED)
    except OperatorChaosError as exc:
        run.message = str(exc)
        run.event("error", str(exc), level="error")
        if run.verdict is None and not options.dry_run:
            run.verdict = Verdict.INCONCLUSIVE
        run.error = exc
        run.enter(Phase.ABORTED)
    # Only runs that got past the lock are history: a refusal says nothing about the operator.
    observed = any(p.phase is Phase.STEADY_STATE_PRE for p in run.phases)
    keep = options.store_result and not options.dry_run and observed
    if keep:
        with contextlib.suppress(kube_errors.KubeError):
            await _compare_with_previous(kube, run, options.tool_namespace)
    result = run.result(options.dry_run)
    if keep:
        with contextlib.suppress(kube_errors.KubeError):
            await results.store(kube, options.tool_namespace, result)
    return RunOutcome(result, run.error, run.interrupted)


async def _compare_with_previous(kube: KubeClient, run: _Run, namespace: str) -> None:
    """Say how this run compares with the last stored result of the same experiment."""
    earlier = await results.history(kube, namespace, run.name)
    if not earlier:
        return
    last = earlier[-1]
    now_ms = run.recovery.recovery_time_ms if run.recovery else None
    then_ms = last.recovery.recovery_time_ms if last.recovery else None
    then_verdict = last.verdict.value if last.verdict else "none"
    text = f"previous run {last.run_id}: {then_verdict}"
    if now_ms is not None and then_ms is not None:
        text += f", recovery {then_ms} ms -> {now_ms} ms ({now_ms - then_ms:+d} ms)"
    if last.verdict is not None and run.verdict is not None and last.verdict != run.verdict:
        text += f"; verdict changed to {run.verdict.value}"
    run.event("history", text)


async def _lifecycle(kube: KubeClient, run: _Run, options: RunOptions) -> None:
    exp = run.loaded.experiment
    spec = exp.spec
    run.enter(Phase.PENDING)
    injector = registry.injector_for(spec.injection.type)
    params = registry.parse_params(spec)
    danger = registry.effective_danger(spec)
    policy.check_danger(spec, danger)
    hold = options.hold if options.hold is not None else _default_hold(params, spec.injection.ttl)
    scope = Scope(
        namespace=resolve_namespace(run.loaded, params),
        count=spec.injection.count,
        run_id=run.run_id,
        experiment=run.name,
        expires_at=datetime.now(UTC) + hold + REVERT_GRACE,
    )
    plan = await injector.plan(kube, params, scope)
    policy.approve(spec, danger, plan.footprint, tool_namespace=options.tool_namespace)
    run.injection = InjectionOutcome(
        type=spec.injection.type,
        danger=danger,
        targets=[str(t) for t in plan.footprint.targets],
        plan=list(plan.changes),
    )
    for change in plan.changes:
        run.event("plan", f"{change.target} {change.field}: {change.before} -> {change.after}")
    if options.dry_run or spec.blast_radius.dry_run:
        run.message = "dry run: the plan above was approved by the safety gate; nothing changed"
        run.enter(Phase.COMPLETE)
        return
    if options.sweep_stale:
        for line in await clean.sweep(kube, options.tool_namespace):
            run.event("clean", f"reverted a stale fault first: {line}", level="warning")
    managed, collateral, warning = expectations(options.knowledge, spec.target.component)
    if warning:
        run.event("knowledge", warning, level="warning")
    target_lease = lease.TargetLease(
        kube,
        options.tool_namespace,
        lease.lease_name(spec.target.operator, spec.target.component),
        run.run_id,
    )
    await target_lease.acquire()
    observer = Observer(kube, spec.steady_state.checks, managed, collateral)
    run_ledger: ledger.RunLedger | None = None
    try:
        await observer.start()
        run.enter(Phase.STEADY_STATE_PRE)
        run.pre = await observer.wait_steady(spec.steady_state.timeout.total_seconds())
        if not run.pre.passed:
            failing = [c.check for c in run.pre.checks if not c.passed]
            run.verdict = Verdict.INCONCLUSIVE
            run.message = f"steady state not met before injection: {', '.join(failing)}"
            run.event("steady-state", run.message, level="warning")
            run.enter(Phase.ABORTED)
            return
        run_ledger = _CheckpointLedger(
            kube,
            options.tool_namespace,
            ledger.RunInfo(
                run_id=run.run_id,
                experiment=run.name,
                operator=spec.target.operator,
                component=spec.target.component,
                owner=Owner.current(),
                lease=target_lease.name,
                started_at=run.started,
                expires_at=scope.expires_at,
            ),
        )
        await run_ledger.create()
        await _inject_hold_revert(
            kube, run, injector, params, scope, plan, run_ledger, hold, observer
        )
        await _observe(run, observer, options)
    finally:
        if run_ledger is not None:
            await _revert_remaining(kube, run, run_ledger)
        await observer.stop()
        await _shielded(target_lease.release())


def _default_hold(params: InjectionParams, ttl: timedelta) -> timedelta:
    """How long the fault stays: a type's own ``duration`` parameter if set, else the ttl."""
    duration = getattr(params, "duration", None)
    return duration if isinstance(duration, timedelta) else ttl


async def _inject_hold_revert(
    kube: KubeClient,
    run: _Run,
    injector: Injector,
    params: InjectionParams,
    scope: Scope,
    plan: Plan,
    run_ledger: ledger.RunLedger,
    hold: timedelta,
    observer: Observer,
) -> None:
    assert run.injection is not None
    run.enter(Phase.INJECTING)
    observer.mark_baseline()
    observer.track_collateral()
    run.fault_ns = time.monotonic_ns()
    injected_at = datetime.now(UTC)
    for line in await injector.inject(kube, params, scope, plan, run_ledger):
        run.event("inject", line)
    run.injection = run.injection.model_copy(update={"injected_at": injected_at})
    if injector.spec.instantaneous:
        run.since_ns = run.fault_ns
        confirmations = list(await injector.confirm(kube, params, scope, plan))
        for line in confirmations:
            run.event("confirm", line)
        run.injection = run.injection.model_copy(update={"confirmations": confirmations})
        await _revert_remaining(kube, run, run_ledger)
        return
    run.enter(Phase.HOLDING)
    await checkpoints.reach("holding")
    confirmations = list(await injector.confirm(kube, params, scope, plan))
    for line in confirmations:
        run.event("confirm", line)
    run.sink(Progress(run.name, f"holding the fault for {hold.total_seconds():g}s", run.phase))
    await asyncio.sleep(hold.total_seconds())
    run.injection = run.injection.model_copy(
        update={"confirmations": confirmations, "hold_ms": int(hold.total_seconds() * 1000)}
    )
    run.enter(Phase.REVERTING)
    await _revert_remaining(kube, run, run_ledger)
    run.since_ns = time.monotonic_ns()
    observer.mark_baseline()
    run.injection = run.injection.model_copy(update={"reverted_at": datetime.now(UTC)})


async def _observe(run: _Run, observer: Observer, options: RunOptions) -> None:
    exp_spec = run.loaded.experiment.spec
    run.enter(Phase.OBSERVING)
    await checkpoints.reach("observing")
    timeout = exp_spec.hypothesis.recovery_timeout.total_seconds()
    recovery = await observer.wait_recovered(
        run.since_ns,
        run.fault_ns,
        timeout,
        options.stability.total_seconds(),
    )
    run.enter(Phase.STEADY_STATE_POST)
    run.post = recovery.last_round
    knowledge = options.knowledge
    max_cycles = knowledge.recovery.max_reconcile_cycles if knowledge else None
    run.recovery = RecoveryOutcome(
        recovered=recovery.recovered,
        recovery_time_ms=recovery.recovery_ms,
        timeout_ms=int(timeout * 1000),
        stability_window_ms=int(options.stability.total_seconds() * 1000),
        reconcile_cycles=recovery.reconcile_cycles,
        max_reconcile_cycles=max_cycles,
    )
    unreconciled = []
    for exp, ok, why in observer.managed_state():
        run.managed.append(ResourceOutcome(resource=str(exp.ref), reconciled=ok, detail=why))
        if not ok:
            unreconciled.append(f"{exp.ref} ({why})")
    run.collateral = sorted(observer.collateral_seen)
    run.enter(Phase.EVALUATING)
    reconcile_timeout = knowledge.recovery.reconcile_timeout if knowledge else None
    verdict = judge.judge(
        judge.Evidence(
            steady_before=True,
            observable=not (observer.errors and not recovery.recovered),
            recovered=recovery.recovered,
            recovery_ms=recovery.recovery_ms,
            timeout_ms=int(timeout * 1000),
            unreconciled=unreconciled,
            reconcile_cycles=recovery.reconcile_cycles,
            max_reconcile_cycles=max_cycles,
            reconcile_timeout_ms=int(reconcile_timeout.total_seconds() * 1000)
            if reconcile_timeout
            else None,
            collateral=run.collateral,
            observation_errors=observer.errors,
        )
    )
    run.verdict = verdict.verdict
    run.message = verdict.message
    run.deviations = list(verdict.deviations)
    run.event("verdict", f"{verdict.verdict.value}: {verdict.message}")
    run.enter(Phase.COMPLETE)


async def _revert_remaining(kube: KubeClient, run: _Run, run_ledger: ledger.RunLedger) -> None:
    """Revert every record not yet reverted, reading them back from the cluster."""

    async def revert_all() -> list[str]:
        done: list[str] = []
        current = await kube.get_or_none(run_ledger.ref)
        if current is None:
            return done
        stored = ledger.RunLedger.from_configmap(kube, current)
        for record in stored.records.values():
            if record.state == "reverted":
                continue
            outcome = await registry.injector_for(record.type).revert(kube, record)
            await run_ledger.mark(record, "reverted", outcome)
            done.append(outcome)
        if all(r.state == "reverted" for r in run_ledger.records.values()):
            await run_ledger.delete()
        return done

    try:
        outcomes = await _shielded(revert_all())
    except (kube_errors.KubeError, OperatorChaosError) as exc:
        run.revert = RevertOutcome(reverted=False, error=str(exc))
        run.event("revert", f"REVERT FAILED: {exc}; run `operator-chaos clean`", level="error")
        raise RevertFailed(
            f"could not revert {run.name}: {exc}; the rollback record stays in ConfigMap"
            f" {run_ledger.namespace}/{run_ledger.name}: run `operator-chaos clean`"
        ) from exc
    if outcomes:
        previous = run.revert.details if run.revert else []
        run.revert = RevertOutcome(reverted=True, details=[*previous, *outcomes])
        for line in outcomes:
            run.event("revert", line)


async def _shielded(coro: Awaitable[T]) -> T:
    """Finish ``coro`` even if the caller is cancelled again (a second Ctrl-C)."""
    task = asyncio.ensure_future(coro)
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                return task.result()


class _CheckpointLedger(ledger.RunLedger):
    """The run ledger, with the ``injecting:recorded`` checkpoint after a pending write."""

    async def put(self, record: ledger.RollbackRecord) -> ledger.RollbackRecord:
        sealed = await super().put(record)
        if record.state == "pending":
            await checkpoints.reach("injecting:recorded")
        return sealed
