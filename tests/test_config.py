"""Config presets, overrides and the errors a user sees for bad keys and values."""

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orpr.cli import app
from orpr.config import (
    ComputeConfig,
    Config,
    ConfigValueError,
    SyntheticConfig,
    config_to_dict,
    load_config,
)
from orpr.config.rules import modes
from orpr.errors import InputError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("name", ["demo", "frn50k", "m5"])
def test_every_preset_loads(name):
    cfg = load_config(CONFIGS / f"{name}.toml")
    assert isinstance(cfg, Config)
    assert cfg.name == name


def test_set_overrides_parse_toml_values_and_bare_strings():
    cfg = load_config(None, ["policy.alpha=0.9", "units.lead_time=[0, 4]", "data.path=x.parquet"])
    assert cfg.policy.alpha == 0.9
    assert cfg.units.lead_time == (0, 4)
    assert cfg.data.path == "x.parquet"


def test_unknown_key_lists_the_valid_keys():
    with pytest.raises(InputError) as err:
        load_config(None, ["policy.alfa=0.9"])
    assert "policy.alfa" in str(err.value)
    assert "alpha" in str(err.value) and "base_stock_quantile" in str(err.value)


def test_wrong_type_names_key_and_value():
    with pytest.raises(InputError) as err:
        load_config(None, ['split.holdout_days="many"'])
    assert "split.holdout_days" in str(err.value) and "many" in str(err.value)


def test_out_of_range_alpha_is_refused():
    with pytest.raises(InputError, match="policy.alpha"):
        load_config(None, ["policy.alpha=1.5"])


def test_missing_config_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_config_round_trips_through_plain_dicts():
    cfg = load_config(CONFIGS / "demo.toml")
    flat = config_to_dict(cfg)
    assert flat["units"]["lead_time"] == [1, 2, 3, 5]
    import tomllib

    import tomli_w

    again = tomllib.loads(tomli_w.dumps(flat))
    assert again == flat


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("policy.safety_days=[]", "policy.safety_days"),
        ("policy.safety_days=[-5]", "policy.safety_days"),
        ("units.lead_time=[]", "units.lead_time"),
        ("units.review_period=[0]", "units.review_period"),
        ("units.unit_cost=[5, 1]", "units.unit_cost"),
        ("units.unit_cost=[0, 0]", "units.unit_cost"),
        ("units.holding_rate=[-1, -0.5]", "units.holding_rate"),
        ("synthetic.start=garbage", "synthetic.start"),
        ("eval.policies=[]", "eval.policies"),
        ("split.rate_floor=0", "split.rate_floor"),
        ("split.warmup_days=-1", "split.warmup_days"),
        ("policy.base_stock_history_days=0", "policy.base_stock_history_days"),
        ("synthetic.units=0", "synthetic.units"),
        ("synthetic.promo_rate=1.0", "synthetic.promo_rate"),
        ("synthetic.stockout_rate=-0.1", "synthetic.stockout_rate"),
        ("split.holdout_locations=-1", "split.holdout_locations"),
        ("eval.frontier_safety_offsets=[inf]", "eval.frontier_safety_offsets"),
        ("eval.frontier_model_alphas=[1.0]", "eval.frontier_model_alphas"),
        ("labels.v_step=0", "labels.v_step"),
        ("labels.alpha_range=[0.9, 0.5]", "labels.alpha_range"),
        ("labels.lam_steps=60", "labels.lam_steps"),
        ("model.heads=3", "model.heads"),
        ("model.quantiles=[0.5, 0.1]", "model.quantiles"),
        ("pretrain.demand_lr=0", "pretrain.demand_lr"),
        ("rl.omega=1.5", "rl.omega"),
        ("rl.alpha=1", "rl.alpha"),
        ("compute.shards=0", "compute.shards"),
        ("did.bin_days=0", "did.bin_days"),
        ("did.policy=or_hindsight", "did.policy"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_key(override, key):
    with pytest.raises(InputError) as err:
        load_config(None, [override])
    assert key in str(err.value)


def test_a_turnover_target_must_be_positive_days_and_an_in_stock_one_a_fraction():
    with pytest.raises(InputError, match="'labels.target'.*turnover target must be > 0 days"):
        load_config(None, ["labels.alpha_mode=turnover", "labels.target=0"])
    with pytest.raises(InputError, match="'labels.target'.*must lie in"):
        load_config(None, ["labels.alpha_mode=in_stock", "labels.target=3"])
    assert load_config(None, ["labels.alpha_mode=turnover", "labels.target=3"]).labels.target == 3


SECTIONS = {
    f.name: type(getattr(Config(), f.name))
    for f in dataclasses.fields(Config)
    if dataclasses.is_dataclass(getattr(Config(), f.name))
}
MODE_KEYS = [f"{name}.{key}" for name, cls in SECTIONS.items() for key in modes(cls)]


def test_every_mode_switch_is_a_literal():
    assert set(MODE_KEYS) >= {
        "data.format",
        "data.latent",
        "labels.alpha_mode",
        "labels.group",
        "labels.continuation",
        "policy.incumbent_objective",
        "rl.reward",
        "rl.tie_scale",
        "compute.engine",
        "eval.policies",
    }


@pytest.mark.parametrize("key", MODE_KEYS)
def test_an_unknown_mode_lists_the_valid_ones(key):
    section, field = key.split(".")
    valid = modes(SECTIONS[section])[field]
    many = isinstance(getattr(getattr(Config(), section), field), tuple)  # a list of modes
    with pytest.raises(InputError) as err:
        load_config(None, [f"{key}=['nope']" if many else f"{key}=nope"])
    assert str(err.value) == f"<defaults>, column '{key}', value 'nope': valid: {', '.join(valid)}"


def test_a_section_built_in_code_checks_itself():
    with pytest.raises(ConfigValueError, match="units"):
        SyntheticConfig(units=0)
    with pytest.raises(ConfigValueError, match="engine: valid: local, ray"):
        ComputeConfig("spark")
    cfg = Config()
    with pytest.raises(ConfigValueError, match="patch"):
        dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, patch=5))
    with pytest.raises(ConfigValueError, match="seed"):
        dataclasses.replace(cfg, seed=-1)


DEMO = str(CONFIGS / "demo.toml")
OUT_OF_RANGE = "out of range (L ≥ 0; p, h > 0 and finite; units, days ≥ 1; seed ≥ 0)"


BAD_VALUES = {  # one bad value per section: the --set override → the error after the file
    "seed=-1": "column 'seed', value -1: must be ≥ 0",
    "data.format=xlsx": (
        "column 'data.format', value 'xlsx': valid: synthetic, stationary, canonical, frn, m5"
    ),
    "synthetic.promo_rate=0.95": "column 'synthetic.promo_rate', value 0.95: must lie in [0, 0.95)",
    "stationary.penalty=0": f"column 'stationary.penalty', value 0.0: {OUT_OF_RANGE}",
    "units.review_period=[0]": "column 'units.review_period', value [0]: values must be ≥ 1",
    "split.holdout_locations=1.5": (
        "column 'split.holdout_locations', value 1.5: "
        "a fraction in (0, 1) or a whole number of stores"
    ),
    "policy.alpha=1.5": "column 'policy.alpha', value 1.5: must lie in (0, 1)",
    "eval.frontier_quantiles=[0.5, 1.5]": (
        "column 'eval.frontier_quantiles', value 1.5: "
        "knob values must be finite (quantiles and α in (0, 1))"
    ),
    "labels.group=store": "column 'labels.group', value 'store': valid: all, category",
    "model.patch=5": (
        "column 'model.patch', value 5: window and calendar_days must be multiples of patch"
    ),
    "pretrain.checkpoint_every=0": "column 'pretrain.checkpoint_every', value 0: must be ≥ 1",
    "rl.samples=1": "column 'rl.samples', value 1: leave-one-out needs at least 2 samples",
    "compute.engine=spark": "column 'compute.engine', value 'spark': valid: local, ray",
    "did.treated_share=1": "column 'did.treated_share', value 1.0: must lie in (0, 1)",
}
POLICY_NAMES = "incumbent, base_stock, forecast_base_stock, or_hindsight, optimal, pretrained, orpr, orpr_expert"


@pytest.mark.parametrize(("override", "message"), BAD_VALUES.items(), ids=list(BAD_VALUES))
def test_a_bad_value_in_any_section_stops_a_run_before_any_work(tmp_path, override, message):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", "--config", DEMO, "--out", str(out), "--set", override]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {DEMO}, {message}\n"
    assert not out.exists()  # no run directory, so no labels/, pretrained/, … inside it


def test_a_policy_name_is_checked_at_load_against_every_registered_policy():
    from orpr.evaluation.policies import REGISTRY

    with pytest.raises(InputError) as err:
        load_config(None, ["eval.policies=['incumbent', 'magic']"])
    assert str(err.value) == (
        f"<defaults>, column 'eval.policies', value 'magic': valid: {POLICY_NAMES}"
    )
    assert ", ".join(REGISTRY) == POLICY_NAMES
