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
from typing import Any, TypeVar

from operator_chaos.api.v1alpha1 import (
    CheckRound,
    DangerLevel,
    ExperimentEvent,
    ExperimentResult,
    ExperimentSpec,
    Impact,
    InjectionOutcome,
    Phase,
    PhaseRecord,
    RecoveryModel,
    RecoveryOutcome,
    ResourceOutcome,
    Restoration,
    RevertedChange,
    RevertOutcome,
    SteadyStateCheck,
    Timeline,
    Verdict,
    format_duration,
)
from operator_chaos.api.v1alpha1.result import LaneKind, Restorer
from operator_chaos.errors import OperatorChaosError, RevertFailed, UsageError
from operator_chaos.evaluate import verdict as judge
from operator_chaos.evaluate.verdict import NO_IMPACT
from operator_chaos.injection import registry
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.protocol import Damage, Injector, Plan, Reverted, Scope
from operator_chaos.knowledge.model import OperatorKnowledge
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, ResourceRef
from operator_chaos.load.experiments import LoadedExperiment
from operator_chaos.observe.recovery import (
    NS_PER_MS,
    ManagedExpectation,
    Observer,
    Probe,
    Recovery,
)
from operator_chaos.orchestrator import checkpoints, clean, events, results
from operator_chaos.orchestrator.events import Progress, ProgressSink, discard
from operator_chaos.safety import labels, lease, ledger, policy
from operator_chaos.safety.owner import Owner

log = logging.getLogger(__name__)
T = TypeVar("T")
REVERT_GRACE = timedelta(seconds=60)
RESTORE_WAIT_S = 10.0
"""After the tool restores damage the operator left, how long to watch for it to show."""


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
    require_impact: bool = False
    """A run in which nothing watched ever broke is Inconclusive instead of Resilient."""
    keep_results: int = results.DEFAULT_KEEP


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
    reverting: bool = False
    """The tool has begun undoing its changes (a fault lifted now is not someone else's)."""
    error: OperatorChaosError | None = None
    fault_ns: int = 0
    since_ns: int = 0
    model: RecoveryModel | None = None
    observer: Observer | None = None
    recovery_found: Recovery | None = None
    restorations: list[Restoration] = field(default_factory=list)
    impact: Impact | None = None
    timeline: Timeline | None = None

    def finish_timeline(self) -> None:
        """Freeze what the observer saw into the result's timeline (with a fault lane)."""
        if self.observer is None:
            return
        marks = self.observer.markers
        fault: list[tuple[int, bool, str]] = [(self.observer.origin_ns, True, "no fault")]
        if "injected" in marks:
            fault.append((marks["injected"], False, f"{self.model} fault injected"))
            if "lifted" in marks:
                fault.append((marks["lifted"], True, "lifted by operator-chaos"))
            elif "repaired" in marks:
                fault.append((marks["repaired"], True, "repaired by the operator"))
            elif "restored_by_tool" in marks:
                fault.append((marks["restored_by_tool"], True, "restored by operator-chaos"))
        self.timeline = self.observer.timeline({"fault window": fault})

    @property
    def name(self) -> str:
        return self.loaded.experiment.metadata.name

    def enter(self, phase: Phase) -> None:
        now = datetime.now(UTC)
        if self.phases and self.phases[-1].ended_at is None:
            self.phases[-1] = self.phases[-1].model_copy(update={"ended_at": now})
        self.phases.append(PhaseRecord(phase=phase, started_at=now))
        self.phase = phase
        self.sink(Progress(self.name, f"phase {phase.value}", phase, kind=events.PHASE))

    def event(
        self,
        action: str,
        message: str,
        *,
        target: str = "",
        level: str = "info",
        verdict: str | None = None,
    ) -> None:
        self.events.append(
            ExperimentEvent(
                timestamp=datetime.now(UTC),
                phase=self.phase,
                action=action,
                target=target,
                message=message,
            )
        )
        self.sink(Progress(self.name, message, self.phase, level, kind=action, verdict=verdict))

    def countdown(self, kind: str, seconds: float, message: str) -> None:
        """Tell the view a wait of ``seconds`` starts now (it counts it down)."""
        self.sink(Progress(self.name, message, self.phase, kind=kind, countdown_s=seconds))

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
            recovery_model=self.model,
            revert=self.revert,
            recovery=self.recovery,
            impact=self.impact,
            restorations=self.restorations,
            timeline=self.timeline,
            managed_resources=self.managed,
            collateral=self.collateral,
            deviations=self.deviations,
            events=self.events,
        )


def resolve_namespace(loaded: LoadedExperiment, params: InjectionParams) -> str | None:
    """Where a namespaced fault acts: its ``namespace`` parameter, the experiment's
    metadata.namespace, else the first allowed namespace of the blast radius."""
    explicit = params.explicit_namespace()
    if explicit:
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
        _raise_if_cancelled()
    except asyncio.CancelledError:
        run.interrupted = True
        run.verdict = Verdict.INCONCLUSIVE
        reverted = tuple(run.revert.details) if run.revert else ()
        run.message = (
            f"interrupted; reverted: {'; '.join(reverted)}"
            if reverted
            else "interrupted before any change; nothing to revert"
        )
        run.enter(Phase.ABORTED)
        run.sink(
            Progress(run.name, run.message, run.phase, kind=events.INTERRUPTED, reverted=reverted)
        )
    except OperatorChaosError as exc:
        run.message = str(exc)
        run.event("error", str(exc), level="error")
        if run.verdict is None and not options.dry_run:
            run.verdict = Verdict.INCONCLUSIVE
        run.error = exc
        run.enter(Phase.ABORTED)
    # Only completed runs are history: a refusal, an abort or a Ctrl-C says nothing about
    # how the operator recovers, and must not become the baseline of the next run.
    keep = (
        options.store_result
        and not options.dry_run
        and not run.interrupted
        and run.phase is Phase.COMPLETE
    )
    spec_hash = results.spec_hash(run.loaded.experiment)
    history: list[results.StoredRun] | None = None
    if keep:
        with contextlib.suppress(kube_errors.KubeError):
            # One LIST serves both the comparison and the pruning below.
            history = await results.list_runs(kube, options.tool_namespace, run.name)
            _compare_with_previous(run, results.latest_like(history, spec_hash))
    result = run.result(options.dry_run)
    if keep:
        with contextlib.suppress(kube_errors.KubeError):
            known = list(history) if history is not None else None
            if options.keep_results > 0:
                await results.store(kube, options.tool_namespace, result, spec_hash=spec_hash)
                if known is not None:
                    known.append(results.summary_of(result))
            await results.prune(
                kube, options.tool_namespace, run.name, options.keep_results, known=known
            )
    return RunOutcome(result, run.error, run.interrupted)


def _compare_with_previous(run: _Run, last: "results.StoredRun | None") -> None:
    """Say how this run compares with the last stored run of the same experiment and spec."""
    if last is None:
        return
    now_ms = run.recovery.recovery_time_ms if run.recovery else None
    then_ms = last.recovery_ms
    text = f"previous run {last.run_id}: {last.verdict or 'none'}"
    if now_ms is not None and then_ms is not None:
        text += f", recovery {then_ms} ms -> {now_ms} ms ({now_ms - then_ms:+d} ms)"
    if last.verdict is not None and run.verdict is not None and last.verdict != run.verdict:
        text += f"; verdict changed to {run.verdict.value}"
    run.event("history", text)


def checked(
    loaded: LoadedExperiment, tool_namespace: str
) -> tuple[Injector[Any], InjectionParams, DangerLevel]:
    """The experiment's injector, typed parameters and danger, after the rules that need no
    cluster (tool namespace, danger opt-in). Shared by ``run`` and ``preflight``."""
    spec = loaded.experiment.spec
    injector = registry.injector_for(spec.injection.type)
    params = registry.parse_params(spec)
    danger = registry.effective_danger(spec)
    policy.check_tool_namespace(tool_namespace)
    policy.check_danger(spec, danger)
    return injector, params, danger


async def plan_and_gate(
    kube: KubeClient,
    loaded: LoadedExperiment,
    injector: Injector[Any],
    params: InjectionParams,
    *,
    run_id: str,
    expires_at: datetime,
    tool_namespace: str,
) -> tuple[Scope, Plan[Any]]:
    """The one prepare path (``run``, ``preflight``): resolve the scope, plan (read-only)
    and pass the plan's footprint through the safety gate. Nothing is written."""
    spec = loaded.experiment.spec
    scope = Scope(
        namespace=resolve_namespace(loaded, params),
        count=spec.injection.count,
        run_id=run_id,
        experiment=loaded.experiment.metadata.name,
        expires_at=expires_at,
    )
    plan = await injector.plan(kube, params, scope)
    danger = registry.effective_danger(spec)
    await policy.gate(kube, spec, danger, plan.footprint, tool_namespace=tool_namespace)
    return scope, plan


async def _lifecycle(kube: KubeClient, run: _Run, options: RunOptions) -> None:
    exp = run.loaded.experiment
    spec = exp.spec
    run.enter(Phase.PENDING)
    injector, params, danger = checked(run.loaded, options.tool_namespace)
    dry_run = options.dry_run or spec.blast_radius.dry_run
    check_hold(options.hold, spec.injection.ttl)
    if options.sweep_stale and not dry_run:
        # Before planning: a fault a crashed run left behind (an emptied binding, say) would
        # otherwise make this run's plan refuse, and the fault would stay.
        for line in await clean.sweep(kube, options.tool_namespace):
            run.event("clean", f"reverted a stale fault first: {line}", level="warning")
    hold = options.hold if options.hold is not None else _default_hold(params, spec.injection.ttl)
    timeout = spec.hypothesis.recovery_timeout
    scope, plan = await plan_and_gate(
        kube,
        run.loaded,
        injector,
        params,
        run_id=run.run_id,
        # A repair fault may stay until the recovery timeout; a condition fault for the hold.
        expires_at=datetime.now(UTC) + max(hold, timeout) + REVERT_GRACE,
        tool_namespace=options.tool_namespace,
    )
    run.model, why = choose_model(spec, injector.spec, plan, options.knowledge)
    run.injection = InjectionOutcome(
        type=spec.injection.type,
        danger=danger,
        targets=[str(t) for t in plan.footprint.targets],
        plan=list(plan.changes),
    )
    run.event("model", f"{run.model.value} fault ({why})")
    for change in plan.changes:
        run.event("plan", f"{change.target} {change.field}: {change.before} -> {change.after}")
    if dry_run:
        run.message = "dry run: the plan above was approved by the safety gate; nothing changed"
        run.enter(Phase.COMPLETE)
        return
    managed, collateral, warning = expectations(options.knowledge, spec.target.component)
    if warning:
        run.event("knowledge", warning, level="warning")
    target_lease = lease.TargetLease(
        kube,
        options.tool_namespace,
        lease.lease_name(spec.target.operator, spec.target.component),
        run.run_id,
    )
    await target_lease.acquire(until=scope.expires_at + timeout + options.stability)
    try:
        # Every object the run touches, whoever else names it: two experiments on different
        # components that touch the same object must not interleave (the second would record
        # the first's injected value as the original).
        footprint = await lease.acquire_footprint(
            kube,
            options.tool_namespace,
            plan.footprint.targets,
            run.run_id,
            until=scope.expires_at + timeout + options.stability,
        )
    except BaseException:
        await _shielded(target_lease.release())
        raise
    observer = Observer(
        kube, spec.steady_state.checks, managed, collateral, extra_watch=plan.watch_keys
    )
    run.observer = observer
    run_ledger: ledger.RunLedger | None = None
    try:
        await observer.start()
        _announce_lanes(run, observer)
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
        damage = await _inject(kube, run, injector, params, scope, plan, run_ledger, observer)
        if run.model is RecoveryModel.REPAIR:
            await _await_repair(kube, run, run_ledger, observer, options, damage)
        else:
            await _hold_and_lift(kube, run, run_ledger, observer, options, hold, damage)
        await _judge(run, observer, options, damage)
    finally:
        if run_ledger is not None:
            await _revert_remaining(kube, run, run_ledger)
        run.finish_timeline()
        await observer.stop()
        await _shielded(footprint.release())
        await _shielded(target_lease.release())


def choose_model(
    spec: ExperimentSpec, type_spec: TypeSpec, plan: Plan[Any], knowledge: OperatorKnowledge | None
) -> tuple[RecoveryModel, str]:
    """The recovery model of a run, and why: the experiment's explicit
    ``injection.recoveryModel``; else ``repair`` when the knowledge model lists the disrupted
    object among the component's managed resources (the operator owns it, so it must put it
    back); else the type's own model."""
    if spec.injection.recovery_model is not None:
        return spec.injection.recovery_model, "set by injection.recoveryModel"
    if type_spec.recovery_model is RecoveryModel.CONDITION and knowledge is not None:
        component = knowledge.component(spec.target.component)
        owned = {
            (r.kind, r.name, r.namespace or None)
            for r in (component.managed_resources if component else [])
        }
        for target in plan.footprint.targets:
            if (target.kind, target.name, target.namespace) in owned:
                return RecoveryModel.REPAIR, (
                    f"the knowledge model lists {target} as managed by"
                    f" {spec.target.component}, so the operator must restore it"
                )
    return (
        type_spec.recovery_model,
        f"{type_spec.injection_type} is a {type_spec.recovery_model.value} fault",
    )


def check_hold(hold: timedelta | None, ttl: timedelta) -> None:
    """``--hold`` may shorten a fault, never make it outlive its ``injection.ttl``."""
    if hold is not None and hold > ttl:
        raise UsageError(
            f"--hold {format_duration(hold)} is longer than the experiment's injection.ttl"
            f" ({format_duration(ttl)}): a fault never outlives its ttl; lower --hold or"
            " raise injection.ttl (at most 1h)"
        )


def _default_hold(params: InjectionParams, ttl: timedelta) -> timedelta:
    """How long the fault stays: a type's own ``duration`` parameter if set, else the ttl."""
    return params.hold() or ttl


async def _inject(
    kube: KubeClient,
    run: _Run,
    injector: Injector[Any],
    params: InjectionParams,
    scope: Scope,
    plan: Plan[Any],
    run_ledger: ledger.RunLedger,
    observer: Observer,
) -> list[tuple[str, Damage]]:
    """Make the change (records first), confirm it took effect, start watching the damage."""
    assert run.injection is not None
    run.enter(Phase.INJECTING)
    observer.track_collateral()
    run.fault_ns = time.monotonic_ns()
    observer.mark("injected", run.fault_ns)
    if run.model is RecoveryModel.REPAIR:
        observer.mark_baseline()  # the operator must renew its lease after the damage
    injected_at = datetime.now(UTC)
    for line in await injector.inject(kube, params, scope, plan, run_ledger):
        run.event("inject", line)
    changed_ns = time.monotonic_ns()
    run.injection = run.injection.model_copy(update={"injected_at": injected_at})
    damage = [d for record in run_ledger.records.values() for d in injector.damage(record)]
    repair = run.model is RecoveryModel.REPAIR
    probes = [
        Probe(
            f"{d.target} {d.field}",
            _lane_kind(d, repair),
            d.watch,
            d.restored,
        )
        for d in damage
    ]
    names = await observer.add_probes(probes, changed_ns=changed_ns, kube=kube)
    if repair and not any(d.role == "fault" for d in damage):
        raise OperatorChaosError(
            f"{injector.spec.injection_type} cannot be judged as a repair fault here: it does"
            " not describe the state it damages; set injection.recoveryModel: condition"
        )
    confirmations = list(await injector.confirm(kube, params, scope, plan))
    for line in confirmations:
        run.event("confirm", line)
    run.injection = run.injection.model_copy(update={"confirmations": confirmations})
    return list(zip(names, damage, strict=True))


def _lane_kind(damage: Damage, repair: bool) -> LaneKind:
    """Damage a repair fault made is the operator's to repair; a condition fault's change is
    the fault itself; an invariant is a check of the hypothesis."""
    if damage.role == "invariant":
        return "check"
    return "damage" if repair else "fault"


async def _await_repair(
    kube: KubeClient,
    run: _Run,
    run_ledger: ledger.RunLedger,
    observer: Observer,
    options: RunOptions,
    damage: list[tuple[str, Damage]],
) -> None:
    """Repair faults: leave the damage in place and watch until the operator restores it
    (and the checks hold), at most ``recoveryTimeout`` from the injection. Only then, if the
    operator did not, does the tool restore it."""
    spec = run.loaded.experiment.spec
    run.enter(Phase.OBSERVING)
    await checkpoints.reach("observing")
    timeout = spec.hypothesis.recovery_timeout.total_seconds()
    run.countdown(
        events.RECOVERY, timeout, f"waiting up to {timeout:g}s for the operator to repair"
    )
    lanes = [name for name, d in damage if d.role == "fault"]
    invariants = [name for name, d in damage if d.role == "invariant"]
    recovery = await observer.wait_recovered(
        run.fault_ns,
        run.fault_ns,
        timeout,
        options.stability.total_seconds(),
        required=[*lanes, *invariants],
    )
    run.recovery_found = recovery
    repaired = [name for name in lanes if observer.lane_ok(name)]
    if len(repaired) == len(lanes):
        observer.mark("repaired", max(observer.lanes[n].since_ns for n in lanes))
    for name, d in damage:
        if name in repaired:
            at = (observer.lanes[name].since_ns - run.fault_ns) // NS_PER_MS
            _restored(run, d, "operator", at, "seen in a watch event")
    run.enter(Phase.REVERTING)
    await _revert_remaining(kube, run, run_ledger)  # for repaired fields: a no-op, "already"
    _raise_if_cancelled()
    if len(repaired) == len(lanes):
        return
    changes = run.revert.changes if run.revert else []
    by_tool = {c.target for c in changes if c.action in ("restored", "recreated", "removed")}
    restored_ns = time.monotonic_ns()
    if by_tool:  # the timeline's marker only when the tool's revert really wrote something
        observer.mark("restored_by_tool", restored_ns)
    await _wait_lanes(observer, [n for n in lanes if n not in repaired], RESTORE_WAIT_S)
    limit = f"{timeout:g}s"
    for name, d in damage:
        if name in repaired or name not in lanes:
            continue
        back = observer.lane_ok(name) and d.target in by_tool
        at = (restored_ns - run.fault_ns) // NS_PER_MS
        _restored(
            run,
            d,
            "operator-chaos" if back else "nobody",
            at if back else None,
            "from the rollback record"
            if back
            else f"operator-chaos cannot restore it (now {_last_detail(observer, name)})",
        )
        run.event(
            "restore",
            f"the operator did not restore {d.target} {d.field} within {limit}; "
            + ("operator-chaos restored it" if back else "nobody restored it"),
            level="warning",
        )


def _restored(run: _Run, d: Damage, by: Restorer, at_ms: int | None, detail: str) -> None:
    """Record who put one piece of damaged state back, and when (ms after the injection)."""
    run.restorations.append(
        Restoration(target=d.target, field=d.field, restored_by=by, at_ms=at_ms, detail=detail)
    )


def _announce_lanes(run: _Run, observer: Observer) -> None:
    """Tell the live view, as watch events arrive, when something watched breaks after the
    injection (impact seen), comes back, or when the operator repairs the damage."""
    inner = observer.watcher.on_change
    seen: dict[str, int] = {}

    def on_change(at_ns: int) -> None:
        if inner is not None:
            inner(at_ns)
        for name, lane in observer.lanes.items():
            new = lane.transitions[seen.get(name, 0) :]
            seen[name] = len(lane.transitions)
            for at, ok, detail in new:
                if not run.fault_ns or at < run.fault_ns:
                    continue
                why = f" ({detail})" if detail else ""
                if lane.kind == "damage" and ok and not run.reverting:
                    run.event("repaired", f"repaired by the operator: {name}{why}")
                elif lane.kind == "fault" and ok and not run.reverting:
                    run.event("undone", f"undone by someone else during the hold: {name}{why}")
                elif lane.kind in ("check", "managed"):
                    state = "back" if ok else "impact seen"
                    run.event("impact", f"{state}: {lane.kind} {name}{why}")

    observer.watcher.on_change = on_change


def _last_detail(observer: Observer, lane: str) -> str:
    return observer.lanes[lane].transitions[-1][2]


async def _wait_lanes(observer: Observer, names: list[str], seconds: float) -> None:
    """Wait (watching) until the lanes are ok, at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while not all(observer.lane_ok(n) for n in names) and time.monotonic() < deadline:
        await observer.watcher.wait_change(deadline - time.monotonic())


async def _hold_and_lift(
    kube: KubeClient,
    run: _Run,
    run_ledger: ledger.RunLedger,
    observer: Observer,
    options: RunOptions,
    hold: timedelta,
    damage: list[tuple[str, Damage]],
) -> None:
    """Condition faults: hold (observing), lift, then watch the operator resume; recovery
    is timed from the lift."""
    assert run.injection is not None
    run.enter(Phase.HOLDING)
    await checkpoints.reach("holding")
    seconds = hold.total_seconds()
    run.countdown(events.HOLD, seconds, f"holding the fault for {seconds:g}s")
    await asyncio.sleep(hold.total_seconds())
    run.injection = run.injection.model_copy(update={"hold_ms": int(hold.total_seconds() * 1000)})
    run.enter(Phase.REVERTING)
    undone_before = {n for n, d in damage if d.role == "fault" and observer.lane_ok(n)}
    await _revert_remaining(kube, run, run_ledger)
    _raise_if_cancelled()
    run.since_ns = observer.mark("lifted")
    observer.mark_baseline()
    lifted_ms = (run.since_ns - run.fault_ns) // NS_PER_MS
    for name, d in damage:
        if d.role != "fault":
            continue
        by_operator = name in undone_before
        at = (observer.lanes[name].since_ns - run.fault_ns) // NS_PER_MS if by_operator else None
        _restored(
            run,
            d,
            "operator" if by_operator else "operator-chaos",
            at if by_operator else lifted_ms,
            "undone by someone else during the hold"
            if by_operator
            else f"after the {hold.total_seconds():g}s hold",
        )
    run.injection = run.injection.model_copy(update={"reverted_at": datetime.now(UTC)})
    run.enter(Phase.OBSERVING)
    await checkpoints.reach("observing")
    spec = run.loaded.experiment.spec
    timeout = spec.hypothesis.recovery_timeout.total_seconds()
    run.countdown(
        events.RECOVERY, timeout, f"waiting up to {timeout:g}s for the operator to resume"
    )
    run.recovery_found = await observer.wait_recovered(
        run.since_ns,
        run.fault_ns,
        timeout,
        options.stability.total_seconds(),
        required=[n for n, d in damage if d.role == "invariant"],
    )


async def _judge(
    run: _Run, observer: Observer, options: RunOptions, damage: list[tuple[str, Damage]]
) -> None:
    """Turn the observed evidence into the verdict (rules in :mod:`evaluate.verdict`)."""
    recovery = run.recovery_found
    assert recovery is not None
    exp_spec = run.loaded.experiment.spec
    run.enter(Phase.STEADY_STATE_POST)
    run.post = recovery.last_round
    knowledge = options.knowledge
    timeout = exp_spec.hypothesis.recovery_timeout.total_seconds()
    max_cycles = knowledge.recovery.max_reconcile_cycles if knowledge else None
    repair = run.model is RecoveryModel.REPAIR
    run.recovery = RecoveryOutcome(
        recovered=recovery.recovered,
        recovery_time_ms=recovery.recovery_ms,
        measured_from="injection" if repair else "lift",
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
    run.impact = observer.impact(run.fault_ns)
    if not run.impact.observed:
        run.event("impact", NO_IMPACT, level="warning")
    run.enter(Phase.EVALUATING)
    reconcile_timeout = knowledge.recovery.reconcile_timeout if knowledge else None
    unrepaired = [f"{r.target} {r.field}" for r in run.restorations if r.restored_by != "operator"]
    broken_invariants = [
        f"{n} ({observer.lanes[n].transitions[-1][2]})"
        for n, d in damage
        if d.role == "invariant" and not observer.lane_ok(n)
    ]
    verdict = judge.judge(
        judge.Evidence(
            steady_before=True,
            observable=not (observer.errors and not recovery.recovered),
            recovered=recovery.recovered,
            recovery_ms=recovery.recovery_ms,
            timeout_ms=int(timeout * 1000),
            model=run.model or RecoveryModel.CONDITION,
            unrepaired=unrepaired if repair else (),
            restored_by_tool=all(r.restored_by == "operator-chaos" for r in run.restorations),
            impact_observed=run.impact.observed,
            require_impact=options.require_impact,
            unreconciled=unreconciled,
            broken_invariants=broken_invariants,
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
    run.event(
        events.VERDICT, f"{verdict.verdict.value}: {verdict.message}", verdict=verdict.verdict.value
    )
    run.enter(Phase.COMPLETE)


async def _revert_remaining(kube: KubeClient, run: _Run, run_ledger: ledger.RunLedger) -> None:
    """Revert every record not yet reverted; the revert never rests on one copy of a record.

    The ledger ConfigMap and this run's own sealed copies (``run_ledger.records``) are merged
    record by record, the copy further along (pending < applied < reverted) winning: a ledger
    deleted or damaged during the hold (``clean --all``, a stray kubectl) still gets its
    faults reverted. Each revert is retried through API outages until the record expires.
    Nothing is re-created unless a revert could not be confirmed: then the ledger is written
    back so that ``clean`` finds it, the run ends Inconclusive and :class:`RevertFailed`
    (exit 7) is raised.
    """

    run.reverting = True

    def warn(message: str) -> None:
        run.event("revert", message, level="warning")

    async def read_live() -> tuple[bool | None, dict[str, ledger.RollbackRecord]]:
        """Whether the ledger exists (None: unknown) and its valid records (the ConfigMap
        and the Secret ledger merged)."""
        where = f"{run_ledger.namespace}/{run_ledger.name}"
        try:
            scanned = await run_ledger.fetch()
        except kube_errors.KubeError as exc:
            warn(f"cannot read rollback ledger {where} ({exc}): reverting from this run's copy")
            return None, {}
        if scanned is None:
            if any(r.state != "reverted" for r in run_ledger.records.values()):
                warn(
                    f"rollback ledger {where} is gone (deleted during the run):"
                    " reverting from this run's own copy of its records"
                )
            return False, {}
        for problem in scanned.damaged:
            warn(f"{problem}: using this run's own copy of the record instead")
        return True, dict(scanned.ledger.records) if scanned.ledger else {}

    async def mark(live: bool | None, record: ledger.RollbackRecord, outcome: str) -> bool | None:
        if live is False:
            run_ledger.remember(record, "reverted", outcome)
            return live
        try:
            await clean.with_retry(
                f"mark record {record.id} reverted",
                lambda: run_ledger.mark(record, "reverted", outcome),
                until=clean.retry_until(record.expires_at),
                notify=warn,
            )
        except kube_errors.NotFound:
            run_ledger.remember(record, "reverted", outcome)
            return False
        except kube_errors.KubeError as exc:  # reverted all the same; `clean` tidies up
            run_ledger.remember(record, "reverted", outcome)
            warn(f"reverted, but could not mark record {record.id} in the ledger: {exc}")
        return True if live is None else live

    async def revert_all() -> tuple[list[Reverted | str], list[str]]:
        done: list[Reverted | str] = []
        failed: list[str] = []
        if run_ledger.deleted and all(r.state == "reverted" for r in run_ledger.records.values()):
            return done, failed  # reverted and cleaned up already (the `finally` after a revert)
        live, stored = await read_live()
        for rid, theirs in stored.items():
            mine = run_ledger.records.get(rid)
            if mine is None or ledger.STATE_ORDER[theirs.state] > ledger.STATE_ORDER[mine.state]:
                run_ledger.records[rid] = theirs
                if theirs.state == "reverted" and (mine is None or mine.state != "reverted"):
                    done.append(
                        f"{theirs.outcome or theirs.target.ref} (reverted by another process)"
                    )
        todo = [r for r in run_ledger.records.values() if r.state != "reverted"]
        if todo:
            await checkpoints.reach("reverting")
        single_shot = run_ledger.revert_failed
        for record in todo:
            now = datetime.now(UTC)
            until = now if single_shot else clean.retry_until(record.expires_at, now)
            try:
                outcome = await clean.revert_record(kube, record, until=until, notify=warn)
            except (kube_errors.KubeError, OperatorChaosError) as exc:
                failed.append(str(exc))
                continue
            done.append(outcome)
            live = await mark(live, record, outcome.line)
        if failed:
            run_ledger.revert_failed = True
            if live is False:
                try:
                    await run_ledger.recreate()
                except kube_errors.KubeError as exc:
                    failed.append(f"could not write the rollback ledger back either: {exc}")
        elif live is not False:
            with contextlib.suppress(kube_errors.KubeError):
                await run_ledger.delete()
        return done, failed

    try:
        outcomes, failures = await _shielded(revert_all())
    except (kube_errors.KubeError, OperatorChaosError) as exc:
        outcomes, failures = [], [str(exc)]
    if outcomes:
        lines = [o.line if isinstance(o, Reverted) else o for o in outcomes]
        changes = [
            RevertedChange(target=o.target, field=o.field, action=o.action.value, detail=o.detail)
            for o in outcomes
            if isinstance(o, Reverted)
        ]
        previous = run.revert if run.revert else RevertOutcome(reverted=True)
        run.revert = RevertOutcome(
            reverted=not failures,
            details=[*previous.details, *lines],
            changes=[*previous.changes, *changes],
        )
        for line in lines:
            run.event("revert", line)
    if failures:
        cause = "; ".join(failures)
        details = run.revert.details if run.revert else []
        changes = run.revert.changes if run.revert else []
        run.revert = RevertOutcome(reverted=False, details=details, changes=changes, error=cause)
        run.verdict = Verdict.INCONCLUSIVE
        run.event("revert", f"REVERT FAILED: {cause}; run `operator-chaos clean`", level="error")
        raise RevertFailed(
            f"could not revert {run.name}: {cause}; the rollback record stays in ConfigMap"
            f" {run_ledger.namespace}/{run_ledger.name}: run `operator-chaos clean`"
        )


def _raise_if_cancelled() -> None:
    """A Ctrl-C that arrived during a shielded revert was held back until the revert
    finished; deliver it now, so the run ends interrupted (not judged, not stored)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


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
