"""Truth vs belief for docetaxel: the MAP policy may believe another myelosuppression model."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from chemotherapy_helpers import MAP_ETAS, _patients, _vector_env

from agents.policies.registry import make_policy
from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario
from pkgym.models.myelosuppression import Friberg2002DocetaxelEmax, FribergDocetaxel

SPECS = ("map", "map:prior=kloft2006", "map:prior=friberg2002_emax")


@functools.cache
def _doses() -> dict[str, tuple[str, np.ndarray]]:
    """Three cycles of each MAP spec on the same pinned patients and seed: (name, doses)."""
    scenario = ChemotherapyScenario(anc_assay_log_sd=0.05)
    patients = _patients(MAP_ETAS, eta_CL=0.0, eta_KL=-1.0)
    runs = {}
    for spec in SPECS:
        env = _vector_env(len(MAP_ETAS), scenario=scenario)
        core = env.unwrapped.core
        policy = make_policy(spec, core)
        observation, info = env.reset(seed=0, options={"patients": patients})
        policy.reset(len(MAP_ETAS))
        decisions = []
        for _ in range(3):
            decisions.append(np.asarray(policy.act(observation, info)))
            observation, _, _, _, info = env.step(core.encode_decisions(decisions[-1], False))
        runs[spec] = (policy.name, np.array(decisions).T)
    return runs


def test_map_prior__naming_the_truth_changes_nothing() -> None:
    """``map:prior=kloft2006`` (the scenario's model) doses exactly as plain ``map``."""
    runs = _doses()
    assert runs["map"][0] == "map_bayesian"
    assert runs["map:prior=kloft2006"][0] == "map_bayesian[prior=kloft2006]"
    np.testing.assert_array_equal(runs["map"][1], runs["map:prior=kloft2006"][1])


def test_map_prior__a_wrong_prior_doses_differently() -> None:
    """Friberg 2002's Emax model as belief over Kloft patients: other doses, same patients."""
    runs = _doses()
    name, wrong = runs["map:prior=friberg2002_emax"]
    assert name == "map_bayesian[prior=friberg2002_emax]"
    assert not np.array_equal(runs["map"][1], wrong)
    # the milder Emax belief (typical nadir 0.95 vs 0.25 at 100 mg/m2) doses no lower
    assert np.all(wrong[:, 0] >= runs["map"][1][:, 0])


@pytest.mark.parametrize(("prior", "model"), [("kloft2006", FribergDocetaxel),
                                              ("friberg2002_emax", Friberg2002DocetaxelEmax)])
def test_map_prior__builds_the_named_model(prior: str, model: type) -> None:
    """The belief is the scenario's field of that name; the patients' truth is unchanged."""
    core = _vector_env(1).unwrapped.core
    policy = make_policy(f"map:prior={prior}", core)
    assert type(policy.model.myelosuppression) is model
    assert policy.name == f"map_bayesian[prior={prior}]"
    assert type(core.settings.model.myelosuppression) is FribergDocetaxel


@pytest.mark.parametrize(("spec", "match"), [
    ("map:prior=kloft2007", r"prior 'kloft2007' is not one of \['friberg2002_emax', "
                            r"'kloft2006'\]"),
    ("label:prior=kloft2006", "takes no prior"),
    ("oracle:prior=friberg2002_emax", "takes no prior")])
def test_map_prior__bad_priors_are_refused_in_one_line(spec: str, match: str) -> None:
    """Unknown names list the allowed ones; a prior on a model-free baseline is refused."""
    with pytest.raises(ValueError, match=match) as error:
        make_policy(spec, _vector_env(1).unwrapped.core)
    assert "\n" not in str(error.value)
