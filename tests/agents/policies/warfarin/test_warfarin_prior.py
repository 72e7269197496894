"""Truth vs belief: a MAP policy can dose with another model than the one making the patients."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.models.warfarin import Hamberg2007, Hamberg2010
from pkgym.models.warfarin_calibrated import Hamberg2010Iwpc

ENV_ID = "pkgym/WarfarinPGx-v1"


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    """Plain MAP, MAP told the truth by name, and MAP with the published model, same patients."""
    core = gym.make(ENV_ID).unwrapped.core
    cohort = sample_cohort(core.settings.population, core.settings.model.variability, 12, 5)
    specs = ("map", "map:prior=hamberg2010_iwpc", "map:prior=hamberg2010")
    return evaluate([make_policy(spec, core) for spec in specs], ENV_ID, cohort, seed=9)


def _scores(results: pd.DataFrame, policy: str) -> pd.DataFrame:
    rows = results[results["policy"] == policy].drop(columns="policy").sort_values("id")
    return rows.select_dtypes("number").reset_index(drop=True)


def test_map_prior__naming_the_truth_changes_nothing(runs: pd.DataFrame) -> None:
    """``map:prior=<the scenario's model>`` doses exactly as plain ``map``."""
    pd.testing.assert_frame_equal(_scores(runs, "map_bayesian"),
                                  _scores(runs, "map_bayesian[prior=hamberg2010_iwpc]"))


def test_map_prior__a_wrong_prior_doses_differently(runs: pd.DataFrame) -> None:
    """The published model as belief over calibrated patients: other doses, other outcomes."""
    truth = _scores(runs, "map_bayesian")
    wrong = _scores(runs, "map_bayesian[prior=hamberg2010]")
    assert not np.allclose(truth["time_in_therapeutic_range"], wrong["time_in_therapeutic_range"])


@pytest.mark.parametrize(("prior", "model"), [("hamberg2007", Hamberg2007),
                                              ("hamberg2010", Hamberg2010),
                                              ("hamberg2010_iwpc", Hamberg2010Iwpc)])
def test_map_prior__builds_the_named_model(prior: str, model: type) -> None:
    """The belief is the named parameter set; the policy's name says so."""
    policy = make_policy(f"map:prior={prior}", gym.make(ENV_ID).unwrapped.core)
    assert type(policy.model) is model and policy.name == f"map_bayesian[prior={prior}]"


@pytest.mark.parametrize(("spec", "match"), [
    ("map:prior=hamberg2099", r"prior 'hamberg2099' is not one of \['hamberg2007', "),
    ("fixed_5mg:prior=hamberg2007", "takes no prior"),
    ("map:prior", r"options are key=value pairs"),
    ("map:prior=hamberg2007,prior=hamberg2010", "each key once"),
    ("map:horizon=3", r"takes no option\(s\) \['horizon'\]")])
def test_map_prior__bad_options_are_refused_in_one_line(spec: str, match: str) -> None:
    """Unknown priors, options on a baseline that takes none, malformed pairs."""
    with pytest.raises(ValueError, match=match) as error:
        make_policy(spec, gym.make(ENV_ID).unwrapped.core)
    assert "\n" not in str(error.value)


def test_map_prior__baselines_without_options_refuse_them() -> None:
    """Depression's stepped care takes no options: one is refused naming it."""
    with pytest.raises(ValueError, match=r"takes no option\(s\) \['prior'\]"):
        make_policy("stepped_care:prior=x", gym.make("pkgym/Depression-v0").unwrapped.core)


def test_map__its_belief_is_the_model_it_doses_with() -> None:
    """The report's belief line: the truth's name by default, the prior when one is named."""
    from pkgym.evaluation.uncertainty import describe_beliefs

    core = gym.make("pkgym/Warfarin-v1").unwrapped.core
    true_prior, wrong = make_policy("map", core), make_policy("map:prior=hamberg2007", core)
    assert (true_prior.belief_name, wrong.belief_name) == ("hamberg2010_iwpc", "hamberg2007")
    lines = describe_beliefs([true_prior, wrong], "hamberg2010_iwpc")
    assert lines == ["- map_bayesian: believes hamberg2010_iwpc (the truth, at its published "
                     "estimates)", "- map_bayesian[prior=hamberg2007]: believes hamberg2007 "
                     "(not the truth)"]
