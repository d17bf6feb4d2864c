"""Config: profiles, overrides, validation messages, the cache key."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from advsel.config import (
    CHOICES,
    DATASETS,
    DEVICES,
    FIELD_HELP,
    KEY_OMITTED_AT_DEFAULT,
    METHODS,
    MODELS,
    NONE_TEXT,
    PROFILES,
    Config,
    ConfigError,
    config_from_dict,
    evaluation_attack,
    make_config,
    profile_defaults,
)
from advsel.evaluation import FinalEval
from advsel.methods import METHOD_PARAMS, REGISTRY


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("dataset", DATASETS)
def test_profiles_fill_in_their_defaults(profile: str, dataset: str) -> None:
    defaults = profile_defaults(profile, dataset)
    c = make_config(profile, dataset)
    assert c.profile == profile and c.dataset == dataset
    for name, value in defaults.items():
        assert getattr(c, name) == (tuple(value) if name == "milestones" else value), name


def test_explicit_values_override_the_profile() -> None:
    base = make_config("smoke", "mnist")
    c = make_config("smoke", "mnist", p_up=0.3, epochs=3, method="ds")
    assert (c.p_up, c.epochs, c.method) == (0.3, 3, "ds")
    assert c.batch_size == base.batch_size == profile_defaults("smoke", "mnist")["batch_size"]


def test_no_profile_uses_the_dataclass_defaults() -> None:
    c = make_config(None, "cifar10", method="ds")
    fields = {f.name: f.default for f in dataclasses.fields(Config)}
    assert c.profile is None and c.dataset == "cifar10"
    assert c.eps == fields["eps"] and c.batch_size == fields["batch_size"]


def test_effective_eval_attack() -> None:
    c = make_config(None, "mnist", eps=0.2, eval_eps=None, eval_alpha=None)
    assert c.effective_eval_eps == 0.2
    assert c.effective_eval_alpha == pytest.approx(0.05)
    c = c.replace(eval_eps=0.1, eval_alpha=0.01)
    assert (c.effective_eval_eps, c.effective_eval_alpha) == (0.1, 0.01)
    c = c.replace(eval_eps=0.1, eval_alpha=None)
    assert c.effective_eval_alpha == pytest.approx(0.025), "eps / 4 of the evaluation eps, not the training eps"


def test_the_evaluation_defaults_are_one_rule() -> None:
    """evaluation_attack: eps as given else the base's; alpha as given, else the base's, else eps / 4."""
    assert evaluation_attack(None, None, base_eps=0.3) == (0.3, 0.075)
    assert evaluation_attack(0.2, None, base_eps=0.3) == (0.2, 0.05)
    assert evaluation_attack(None, None, base_eps=0.3, base_alpha=0.01) == (0.3, 0.01)
    assert evaluation_attack(0.2, 0.03, base_eps=0.3, base_alpha=0.01) == (0.2, 0.03)
    c = make_config("cpu", "cifar10", eval_eps=None, eval_alpha=None)
    assert (c.effective_eval_eps, c.effective_eval_alpha) == evaluation_attack(None, None, base_eps=c.eps)
    assert FinalEval().resolve(c.effective_eval_eps, c.effective_eval_alpha) == \
        (c.effective_eval_eps, c.effective_eval_alpha), "the final evaluation defaults to the run's"
    assert NONE_TEXT == {"train_size": "all", "eval_eps": "the training eps", "eval_alpha": "evaluation eps / 4"}


BAD_VALUES = [
    # (parameter, value, text the message must contain)
    ("p_up", 0, "(0, 1]"),
    ("p_up", 0.0, "(0, 1]"),
    ("p_up", 1.5, "(0, 1]"),
    ("p_up", -1, "(0, 1]"),
    ("p_up", float("nan"), "(0, 1]"),
    ("p_up_floor", -0.1, "[0, 1]"),
    ("p_up_floor", 1.5, "[0, 1]"),
    ("eps", -0.1, ">= 0"),
    ("eps", float("inf"), "must be a finite number (inputs are in [0, 1]; 8/255 = 0.0314), not inf"),
    ("eps", float("nan"), "must be a finite number"),
    ("eps", 8, "must be < 1 (inputs are in [0, 1]); did you mean 8/255 = 0.0314?"),
    ("eps", 1.0, "must be < 1 (inputs are in [0, 1]); did you mean 1/255 = 0.0039?"),
    ("eps", 300 / 255, "must be < 1 (inputs are in [0, 1]; 8/255 = 0.0314)"),
    ("eps", "8/255", "must be a number >= 0 and < 1"),
    ("alpha", 0, "> 0"),
    ("alpha", -0.01, "> 0"),
    ("alpha", 2, "must be < 1 (inputs are in [0, 1]); did you mean 2/255 = 0.0078?"),
    ("eval_eps", 16.0, "must be < 1 (inputs are in [0, 1]); did you mean 16/255 = 0.0627?"),
    ("eval_eps", float("-inf"), "must be a finite number"),
    ("eval_alpha", 1.5, "must be < 1 (inputs are in [0, 1]; 8/255 = 0.0314)"),
    ("steps", -1, "integer >= 0"),
    ("steps", 2.5, "integer >= 0"),
    ("eval_eps", -1.0, ">= 0"),
    ("eval_alpha", 0.0, "> 0"),
    ("eval_steps", -3, "integer >= 0"),
    ("eval_restarts", 0, "integer >= 1"),
    ("epochs", 0, "integer >= 1"),
    ("batch_size", 0, "integer >= 1"),
    ("train_size", 0, "integer >= 1"),
    ("test_size", 0, "integer >= 1"),
    ("width", 0, "> 0"),
    ("lr", 0, "> 0"),
    ("lr", float("nan"), "> 0"),
    ("momentum", 1.0, "[0, 1)"),
    ("weight_decay", -1e-4, ">= 0"),
    ("cat_alpha", 1.0, "[0, 1)"),
    ("dong_keep", 0, "(0, 1]"),
    ("milestones", (0.5, 1.5), "fractions in (0, 1)"),
]


@pytest.mark.parametrize(("name", "value", "rule"), BAD_VALUES, ids=[f"{n}={v}" for n, v, _ in BAD_VALUES])
def test_out_of_range_values_name_the_parameter_and_the_rule(name: str, value: object, rule: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_config("smoke", "mnist", **{name: value})
    msg = str(info.value)
    assert msg.startswith(f"{name}=")
    assert rule in msg


@pytest.mark.parametrize(("name", "allowed"), [("method", METHODS), ("model", MODELS), ("device", DEVICES),
                                               ("lr_schedule", ("constant", "cosine", "multistep"))])
def test_unknown_choices_list_the_allowed_values(name: str, allowed: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        make_config("smoke", "mnist", **{name: "no-such-thing"})
    msg = str(info.value)
    assert f"{name}='no-such-thing' is not allowed" in msg
    assert all(a in msg for a in allowed)


def test_unknown_profile_and_dataset_list_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match=r"profile='fast' is not allowed; choose one of: smoke, cpu, paper"):
        make_config("fast", "mnist")
    with pytest.raises(ConfigError, match=r"dataset='svhn' is not allowed; choose one of: mnist, cifar10"):
        make_config("smoke", "svhn")


def test_unknown_parameter_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        make_config("smoke", "mnist", pup=0.5)
    msg = str(info.value)
    assert "pup" in msg and "p_up" in msg and "eval_restarts" in msg


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("p_up", 1.5, "must be in (0, 1]"), ("steps", -1, "must be an integer >= 0"),
    ("method", "fgsm", "not allowed; choose one of: " + ", ".join(METHODS)),
    ("adaptive_accuracy", "test", "not allowed; choose one of: train, clean, robust")])
def test_config_error_names_the_parameter_for_the_cli(name: str, value: object, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_config("smoke", "mnist", **{name: value})
    e = info.value
    assert (e.param, e.value, e.reason) == (name, value, reason)
    assert str(e).startswith(f"{name}={value!r} ") and str(e).endswith(reason)


def test_a_config_error_without_a_single_parameter_has_none() -> None:
    with pytest.raises(ConfigError) as info:
        make_config("smoke", "mnist", pup=0.5)
    assert info.value.param is None and info.value.reason == str(info.value)


def test_every_field_has_help_and_choices_are_validated() -> None:
    names = {f.name for f in dataclasses.fields(Config)}
    assert set(FIELD_HELP) == names
    assert all(text and "\n" not in text for text in FIELD_HELP.values())
    assert set(CHOICES) <= names and CHOICES["method"] == METHODS and CHOICES["profile"] == PROFILES


def test_replace_validates() -> None:
    with pytest.raises(ConfigError, match="p_up"):
        make_config("smoke", "mnist").replace(p_up=2.0)


# ------------------------------------------------------------------ the key


def test_key_is_stable_and_ignores_the_profile_name() -> None:
    a = make_config("smoke", "mnist", method="ds", p_up=0.5)
    b = make_config("smoke", "mnist", method="ds", p_up=0.5)
    assert a.key() == b.key()
    assert len(a.key()) == 16 and int(a.key(), 16) >= 0
    same_without_profile = Config(**{**a.to_dict(), "profile": None})
    assert same_without_profile == a and same_without_profile.key() == a.key()
    assert config_from_dict(json.loads(json.dumps(a.to_dict()))).key() == a.key()


def test_key_is_the_same_in_another_process(child_env: dict[str, str]) -> None:
    a = make_config("smoke", "cifar10", method="ds-adaptive", p_up_floor=0.2)
    code = ("from advsel.config import make_config;"
            "print(make_config('smoke', 'cifar10', method='ds-adaptive', p_up_floor=0.2).key())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**child_env, "PYTHONHASHSEED": "random"})
    assert out.stdout.strip() == a.key()


@pytest.mark.parametrize(("name", "value"), [("method", "ds"), ("p_up", 0.25), ("eps", 0.2), ("seed", 1),
                                             ("epochs", 2), ("model", "madry-cnn"), ("augment", True),
                                             ("milestones", (0.3,)), ("eval_restarts", 2), ("cat_alpha", 0.2),
                                             ("cat_temperature", 2.0)])
def test_key_changes_with_every_result_relevant_field(name: str, value: object) -> None:
    base = make_config("smoke", "mnist", method="ds-cat", lr_schedule="multistep")  # reads all of these
    assert getattr(base, name) != value
    assert base.replace(**{name: value}).key() != base.key()


# every method-specific parameter at a non-default value that is allowed
NON_DEFAULT = {"p_up": 0.3, "p_up_warmup_epochs": 1, "p_up_floor": 0.2, "adaptive_accuracy": "robust",
               "cat_alpha": 0.2, "cat_temperature": 2.0, "dong_keep": 0.7, "dong_steps": "pgd-at",
               "attack_share": 0.3, "unattacked": "skip", "ds_forward": "joint"}


def test_non_default_values_cover_every_method_parameter() -> None:
    assert set(NON_DEFAULT) == set(METHOD_PARAMS)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", METHOD_PARAMS)
def test_unused_method_parameters_are_normalised_out_of_the_key(method: str, name: str) -> None:
    """A parameter the method does not read leaves the key as it is; one it reads changes it."""
    # 3 epochs: room for a warm-up; a validation split: adaptive_accuracy clean/robust needs one
    base = make_config("smoke", "mnist", method=method, epochs=3, validation_size=20)
    changed = base.replace(**{name: NON_DEFAULT[name]})
    assert getattr(changed, name) == NON_DEFAULT[name], "the value itself is kept as given"
    used = name in REGISTRY[method].params
    assert (changed.key() != base.key()) is used
    assert (name in changed.ignored()) is not used


def test_milestones_count_only_under_multistep() -> None:
    for schedule in ("constant", "cosine"):
        c = make_config("smoke", "mnist", lr_schedule=schedule)
        assert c.replace(milestones=(0.3,)).key() == c.key() and "milestones" in c.ignored()
    m = make_config("smoke", "mnist", lr_schedule="multistep")
    assert m.replace(milestones=(0.3,)).key() != m.key() and "milestones" not in m.ignored()
    assert make_config("paper", "cifar10").replace(milestones=(0.3,)).key() != make_config("paper", "cifar10").key()


def test_the_key_of_a_config_at_its_defaults_is_unchanged_by_the_normalisation() -> None:
    """Runs that left unused parameters at their defaults keep their old keys (the committed results)."""
    import hashlib

    for method in METHODS:
        c = make_config("cpu", "mnist", method=method, seed=2)
        d = c.to_dict()
        d.pop("profile")
        for name in KEY_OMITTED_AT_DEFAULT:  # the fields added after the committed results: not in old keys
            d.pop(name)
        old = hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
        assert c.key() == old, method


def test_every_committed_result_keeps_its_key(repo) -> None:
    files = sorted((repo / "results" / "runs").glob("*.json"))
    if not files:
        pytest.skip("no committed results")
    for path in files:
        result = json.loads(path.read_text())
        key = config_from_dict(result["config"]).key()
        assert key == result["key"] and path.name.endswith(f"-{key}.json"), path.name


def test_integer_and_float_spellings_share_one_key() -> None:
    a = make_config("smoke", "mnist", eps=0, width=1, milestones=[1 / 2])
    b = make_config("smoke", "mnist", eps=0.0, width=1.0, milestones=(0.5,))
    assert a.key() == b.key()
    assert isinstance(a.eps, float) and isinstance(a.width, float) and a.milestones == (0.5,)


# ------------------------------------------------------------------ fields added after the committed results


NEW_FIELDS = {"p_up_warmup_epochs": 1, "validation_size": 20, "dong_steps": "pgd-at", "attack_share": 0.25,
              "unattacked": "skip", "ds_forward": "joint", "lr_warmup_epochs": 1}


def test_fields_added_later_are_listed_and_default_to_todays_behaviour() -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(Config)}
    assert set(NEW_FIELDS) == set(KEY_OMITTED_AT_DEFAULT)
    assert {n: defaults[n] for n in NEW_FIELDS} == {"p_up_warmup_epochs": 0, "validation_size": 0,
                                                    "dong_steps": "epochs", "attack_share": 0.5,
                                                    "unattacked": "clean", "ds_forward": "reforward",
                                                    "lr_warmup_epochs": 0}


@pytest.mark.parametrize("method", ["ds", "dong", "robust"])
def test_a_result_written_before_the_new_fields_rebuilds_to_its_key(method: str) -> None:
    c = make_config("cpu", "mnist", method=method)
    old = c.to_dict()
    for name in NEW_FIELDS:
        old.pop(name)
    again = config_from_dict(json.loads(json.dumps(old)))
    assert again == c and again.key() == c.key()


@pytest.mark.parametrize(("name", "method"), [("p_up_warmup_epochs", "ds"), ("validation_size", "robust"),
                                              ("dong_steps", "dong"), ("attack_share", "prescreen"),
                                              ("unattacked", "prescreen"), ("ds_forward", "ds"),
                                              ("lr_warmup_epochs", "robust")])
def test_a_new_field_at_another_value_changes_the_key(name: str, method: str) -> None:
    c = make_config("smoke", "mnist", method=method, epochs=3)
    assert c.replace(**{name: NEW_FIELDS[name]}).key() != c.key()


@pytest.mark.parametrize(("overrides", "param", "reason"), [
    ({"method": "ds", "p_up_warmup_epochs": -1}, "p_up_warmup_epochs", "must be an integer >= 0"),
    ({"method": "ds", "p_up_warmup_epochs": 1.5}, "p_up_warmup_epochs", "must be an integer >= 0"),
    ({"method": "ds", "epochs": 3, "p_up_warmup_epochs": 3}, "p_up_warmup_epochs", "smaller than epochs=3"),
    ({"validation_size": -5}, "validation_size", "must be an integer >= 0"),
    ({"validation_size": 200}, "validation_size", "smaller than train_size=200"),
    ({"method": "dong", "dong_steps": "twice"}, "dong_steps", "choose one of: epochs, pgd-at"),
    ({"method": "prescreen", "attack_share": 0.0}, "attack_share", "must be in (0, 1]"),
    ({"method": "prescreen", "attack_share": 1.5}, "attack_share", "must be in (0, 1]"),
    ({"method": "prescreen", "unattacked": "drop"}, "unattacked", "choose one of: clean, skip"),
    ({"method": "ds", "ds_forward": "once"}, "ds_forward", "choose one of: reforward, joint"),
    ({"lr_warmup_epochs": -1}, "lr_warmup_epochs", "must be an integer >= 0"),
    ({"epochs": 2, "lr_warmup_epochs": 3}, "lr_warmup_epochs", "at most epochs=2"),
    ({"method": "ds-adaptive", "adaptive_accuracy": "clean"}, "adaptive_accuracy", "set validation_size"),
    ({"method": "ds-adaptive", "adaptive_accuracy": "robust"}, "adaptive_accuracy", "set validation_size"),
])
def test_bad_values_of_the_new_fields_name_the_parameter(overrides: dict, param: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_config("smoke", "mnist", **overrides)
    assert info.value.param == param and reason in str(info.value)


def test_eq9_on_clean_or_robust_accuracy_needs_a_validation_split_and_names_both() -> None:
    with pytest.raises(ConfigError, match="adaptive_accuracy='clean'.*validation_size"):
        make_config("smoke", "mnist", method="ds-adaptive", adaptive_accuracy="clean")
    make_config("smoke", "mnist", method="ds-adaptive", adaptive_accuracy="clean", validation_size=20)
    make_config("smoke", "mnist", method="ds-adaptive", adaptive_accuracy="train")
    # a method that does not read adaptive_accuracy ignores it (normalised out of the key), no split needed
    c = make_config("smoke", "mnist", method="robust", adaptive_accuracy="clean")
    assert c.key() == make_config("smoke", "mnist", method="robust").key()


def test_a_warm_up_is_only_checked_against_the_epochs_where_it_is_read() -> None:
    c = make_config("smoke", "mnist", method="robust", p_up_warmup_epochs=5)  # robust ignores it
    assert "p_up_warmup_epochs" in c.ignored() and c.key() == make_config("smoke", "mnist", method="robust").key()
    assert "p_up_warmup_epochs" in make_config("smoke", "mnist", method="ds-adaptive").ignored(), \
        "eq. (9) starts from 1 already: no warm-up"


def test_no_committed_result_lets_the_test_set_drive_eq9(repo) -> None:
    """adaptive_accuracy clean/robust read the test subset before the validation split existed; no committed
    result used them, so making them need a split breaks none."""
    for path in sorted((repo / "results" / "runs").glob("*.json")):
        cfg = json.loads(path.read_text())["config"]
        assert cfg["method"] != "ds-adaptive" or cfg["adaptive_accuracy"] == "train" \
            or cfg.get("validation_size", 0) > 0, path.name  # clean/robust read a validation split
