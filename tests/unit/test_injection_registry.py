"""The registry maps every API injection type to one declarative module with sane defaults."""

import importlib
from pathlib import Path

import pytest
import yaml

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType
from operator_chaos.injection import registry
from operator_chaos.injection.base import InjectionParams
from operator_chaos.injection.builtin import MODULES

VALID = Path(__file__).parents[1] / "data" / "valid" / "pod-kill.yaml"


def spec_with(**injection: object) -> ExperimentSpec:
    data = yaml.safe_load(VALID.read_text())["spec"]
    data["injection"] = {**data["injection"], **injection}
    return ExperimentSpec.model_validate(data)


def test_every_api_type_has_exactly_one_module() -> None:
    specs = registry.all_specs()
    assert len(MODULES) == len(InjectionType) == 20
    assert {s.injection_type for s in specs} == set(InjectionType)
    assert [s.injection_type.value for s in specs] == sorted(t.value for t in InjectionType)


def test_module_names_are_snake_case_of_the_type() -> None:
    for name in MODULES:
        module = importlib.import_module(f"operator_chaos.injection.builtin.{name}")
        camel = "".join(part.capitalize() for part in name.split("_"))
        assert module.SPEC.injection_type.value.lower() == camel.lower()
        doc = (module.__doc__ or "").lower()
        assert "breaks:" in doc, f"{name}: say what breaks"
        assert "revert" in doc, f"{name}: say what revert restores"
        assert issubclass(module.Params, InjectionParams)


def test_duplicate_type_is_refused() -> None:
    with pytest.raises(registry.RegistryError, match="declared twice"):
        registry.build(("pod_kill", "network_partition", "pod_kill"))


def test_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(registry.RegistryError, match="known types: CRDMutation, ClientFault"):
        registry.spec_for("PodKil")


def test_spec_for_accepts_the_enum_and_its_value() -> None:
    assert registry.spec_for(InjectionType.POD_KILL) is registry.spec_for("PodKill")


@pytest.mark.parametrize(
    ("injection_type", "danger"),
    [
        ("FinalizerBlock", DangerLevel.LOW),
        ("NetworkPartition", DangerLevel.MEDIUM),
        ("PodKill", DangerLevel.LOW),
        ("RBACRevoke", DangerLevel.HIGH),
        ("WebhookDisrupt", DangerLevel.HIGH),
    ],
)
def test_defaults_match_the_published_failure_modes(
    injection_type: str, danger: DangerLevel
) -> None:
    assert registry.spec_for(injection_type).danger is danger


@pytest.mark.parametrize(
    "injection_type",
    [
        "CRDMutation",
        "ClientFault",
        "FinalizerBlock",
        "LabelStomping",
        "NetworkPartition",
        "OwnerRefOrphan",
        "PodKill",
        "QuotaExhaustion",
    ],
)
def test_types_used_without_opt_in_are_not_high(injection_type: str) -> None:
    # The reference corpus runs these without dangerLevel and without allowDangerous.
    assert registry.spec_for(injection_type).danger is not DangerLevel.HIGH


def test_effective_danger_prefers_the_explicit_level() -> None:
    assert registry.effective_danger(spec_with()) is DangerLevel.LOW
    assert registry.effective_danger(spec_with(dangerLevel="high")) is DangerLevel.HIGH
    assert registry.effective_danger(spec_with(dangerLevel="medium")) is DangerLevel.MEDIUM


def test_every_parameter_is_described() -> None:
    for spec in registry.all_specs():
        assert spec.summary
        for name, field in spec.params.model_fields.items():
            assert field.description, f"{spec.injection_type}.{name} needs a description"


def test_parse_params_returns_the_typed_model() -> None:
    params = registry.parse_params(spec_with(parameters={"labelSelector": "a=b", "count": "1"}))
    assert params.model_dump(by_alias=True) == {
        "labelSelector": "a=b",
        "count": 1,
        "gracePeriodSeconds": 0,
    }


def test_every_type_is_found_by_its_module_name_without_the_full_registry() -> None:
    from operator_chaos.api.v1alpha1 import InjectionType
    from operator_chaos.injection import registry
    from operator_chaos.injection.builtin import MODULES

    for injection_type in InjectionType:
        assert registry.module_name(injection_type) in MODULES
        assert registry.spec_for(injection_type) == registry.build()[injection_type]
