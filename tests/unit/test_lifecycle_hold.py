"""How long a fault is held: --hold, else the type's own duration parameter, else the ttl."""

from datetime import timedelta

from operator_chaos.injection.builtin import network_partition, pod_kill
from operator_chaos.orchestrator.lifecycle import _default_hold

TTL = timedelta(minutes=5)


def test_a_partition_duration_shortens_the_hold() -> None:
    params = network_partition.Params.model_validate({"labelSelector": "app=x", "duration": "30s"})
    assert _default_hold(params, TTL) == timedelta(seconds=30)


def test_without_a_duration_the_ttl_is_the_hold() -> None:
    params = network_partition.Params.model_validate({"labelSelector": "app=x"})
    assert _default_hold(params, TTL) == TTL
    assert _default_hold(pod_kill.Params.model_validate({"labelSelector": "app=x"}), TTL) == TTL
