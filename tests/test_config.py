"""Config presets, overrides and the errors a user sees for bad keys and values."""

from pathlib import Path

import pytest

from orpr.config import Config, config_to_dict, load_config
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
    ],
)
def test_out_of_range_values_are_refused_naming_the_key(override, key):
    with pytest.raises(InputError) as err:
        load_config(None, [override])
    assert key in str(err.value)
